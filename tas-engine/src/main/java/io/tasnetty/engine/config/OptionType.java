package io.tasnetty.engine.config;

/** How one kind of option value is parsed, printed and described (one per row of the table). */
interface OptionType {

    /** The value {@code text} (trimmed) denotes; throws with the problem, e.g. "is not a size". */
    Object parse(String text) throws OptionTypes.BadValue;

    /** The value as text that {@link #parse} reads back to the same value. */
    String format(Object value);

    /** What it accepts, e.g. "bytes from 2048 to 1073741824, e.g. 131072, 128k or 1m". */
    String accepts();
}
