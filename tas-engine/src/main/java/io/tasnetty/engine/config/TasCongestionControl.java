package io.tasnetty.engine.config;

import java.util.Locale;

/** Congestion-control algorithms, as option {@code cc} names them (CUBIC, and TAS's four). */
public enum TasCongestionControl {
    /**
     * CUBIC (RFC 9438) with HyStart, Linux's default and ours: loss-based, window-bounded, for
     * ordinary networks and peers. ECN marks count as losses (RFC 3168).
     */
    CUBIC("cubic"),
    /** DCTCP on a per-flow rate (TAS's default): slow start, ECN-weighted decrease, additive step. */
    DCTCP_RATE("dctcp-rate"),
    /** DCTCP on a congestion window, turned into a rate by the RTT. */
    DCTCP_WIN("dctcp-win"),
    /** TIMELY: RTT-gradient control with thresholds T_low/T_high. */
    TIMELY("timely"),
    /** A fixed rate per flow (option {@code cc-const-rate}; 0 = unlimited). */
    CONST_RATE("const-rate");

    private final String optionValue;

    TasCongestionControl(String optionValue) {
        this.optionValue = optionValue;
    }

    /** The value as option {@code cc} spells it, e.g. {@code dctcp-rate}. */
    public String optionValue() {
        return optionValue;
    }

    /**
     * The algorithm named {@code text} ({@code dctcp-rate}, ...; case and {@code _}/{@code -} are
     * not significant), or null if none is.
     */
    public static TasCongestionControl fromOptionValue(String text) {
        String t = text.trim().toLowerCase(Locale.ROOT).replace('_', '-');
        for (TasCongestionControl c : values()) {
            if (c.optionValue.equals(t)) {
                return c;
            }
        }
        return null;
    }
}
