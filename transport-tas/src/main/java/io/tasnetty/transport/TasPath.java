package io.tasnetty.transport;

/**
 * Which path a TAS channel's connection took ({@link TasSocketChannel#path()}): the engine's
 * user-space TCP, or a kernel socket behind the same channel for what the engine cannot serve.
 */
public enum TasPath {
    /** The TAS engine: its own address, its loopback, its subnet and routes. */
    ENGINE,
    /**
     * The kernel's TCP: a service on a loopback or local address the engine has no listener for,
     * a destination outside the engine's subnet and routes, IPv6; and, on servers bound to a
     * loopback or wildcard address, connections from outside the engine (curl on the same host).
     */
    KERNEL
}
