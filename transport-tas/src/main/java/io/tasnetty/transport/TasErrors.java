package io.tasnetty.transport;

import io.tasnetty.engine.context.TasError;
import io.tasnetty.engine.context.TasException;

import java.io.IOException;
import java.net.BindException;
import java.net.ConnectException;
import java.net.NoRouteToHostException;
import java.net.SocketException;

/** Engine errors as the java.net exceptions Netty applications expect from a socket. */
final class TasErrors {
    private TasErrors() {
    }

    /** Why an active open failed. */
    static IOException connectFailed(TasError e) {
        return switch (e) {
            case REFUSED -> new ConnectException("Connection refused");
            case TIMED_OUT -> new ConnectException("Connection timed out");
            case UNREACHABLE -> new NoRouteToHostException("No route to host");
            case NO_RESOURCES -> new ConnectException("Cannot assign requested address (" + e.message() + ")");
            case RESET -> new ConnectException("Connection reset by peer");
            case SERVICE_GONE -> new ConnectException("Connection aborted: " + e.message());
            case ABORTED, NONE -> new ConnectException("Connection aborted");
        };
    }

    /** Why a read or write on an established connection failed. */
    static IOException ioFailed(TasError e) {
        return switch (e) {
            case RESET -> new SocketException("Connection reset by peer");
            case TIMED_OUT -> new SocketException("Connection timed out");
            case ABORTED -> new SocketException("Connection aborted (closed)");
            case NONE -> new SocketException("Socket closed");
            default -> new SocketException(e.message());
        };
    }

    static IOException fromEngine(TasException ex) {
        if (ex.error() != TasError.NONE) {
            IOException io = ioFailed(ex.error());
            io.initCause(ex);
            return io;
        }
        return new SocketException(ex.getMessage());
    }

    /** A listen() the engine refused. */
    static IOException bindFailed(TasException ex) {
        String m = ex.getMessage();
        IOException io = m != null && m.contains("in use") ? new BindException("Address already in use (" + m + ")")
            : m != null && m.contains("not an address") ? new BindException("Cannot assign requested address (" + m + ")")
            : new SocketException(m);
        io.initCause(ex);
        return io;
    }
}
