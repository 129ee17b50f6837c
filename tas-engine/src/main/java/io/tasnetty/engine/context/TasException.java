package io.tasnetty.engine.context;

/** A request to the engine that cannot be carried out (address in use, engine stopped, ...). */
public class TasException extends RuntimeException {
    private final TasError error;

    public TasException(String message) {
        this(message, TasError.NONE);
    }

    public TasException(String message, TasError error) {
        super(message);
        this.error = error;
    }

    public TasError error() {
        return error;
    }
}
