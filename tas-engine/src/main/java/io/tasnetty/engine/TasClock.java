package io.tasnetty.engine;

/** Engine time in nanoseconds. The TCP logic never reads a clock itself: agents pass {@code now} in. */
@FunctionalInterface
public interface TasClock {
    long nanoTime();

    TasClock SYSTEM = System::nanoTime;
}
