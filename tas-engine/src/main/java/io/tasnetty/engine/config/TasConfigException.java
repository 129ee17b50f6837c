package io.tasnetty.engine.config;

/**
 * A configuration value the engine refuses: an unknown option, a value it cannot parse or that is
 * out of range, or options that contradict each other. The message names the option and says what
 * it accepts, e.g. {@code option tcp-rxbuf-len: "abc" is not a size; expected bytes from 2048 to
 * 1073741824, e.g. 131072, 128k or 1m}.
 */
public final class TasConfigException extends IllegalArgumentException {
    private static final long serialVersionUID = 1L;

    private final String option;

    public TasConfigException(String option, String message) {
        super(message);
        this.option = option;
    }

    /** The option concerned (as the user spelled it, for an unknown option); never null. */
    public String option() {
        return option;
    }
}
