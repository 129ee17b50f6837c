package io.tasnetty.engine.config;

import java.util.ArrayList;
import java.util.List;

/**
 * One configuration option: its name (as TAS spells it, without {@code --}), its default, what
 * values it accepts and what it does. {@link TasConfig#options()} lists them all; the same table
 * parses, validates, prints and documents every option.
 */
public final class TasOption {
    private final String name;
    private final String group;
    private final String metavar;
    private final OptionType type;
    private final boolean repeatable;
    private final String description;
    private final Object defaultValue;
    private final String defaultText;
    final int index;

    TasOption(int index, String name, String group, String metavar, OptionType type, boolean repeatable,
            String defaultText, String description) {
        this.index = index;
        this.name = name;
        this.group = group;
        this.metavar = metavar;
        this.type = type;
        this.repeatable = repeatable;
        this.description = description;
        if (repeatable) {
            if (!defaultText.isEmpty()) {
                throw new IllegalStateException(name + ": repeatable options default to nothing");
            }
            this.defaultValue = List.of();
        } else {
            this.defaultValue = parse(defaultText, null);
        }
        this.defaultText = format(defaultValue);
        if (!repeatable && !defaultText.equals(this.defaultText)) {
            throw new IllegalStateException(name + ": default " + defaultText + " prints as " + this.defaultText);
        }
    }

    /** The option's name without {@code --}, e.g. {@code tcp-rxbuf-len}. */
    public String name() {
        return name;
    }

    /** The heading it is listed under in {@link TasConfig#help()}, e.g. {@code TCP}. */
    public String group() {
        return group;
    }

    /** A placeholder for its value in help text, e.g. {@code SIZE}; empty for flags that default to false. */
    public String metavar() {
        return metavar;
    }

    /** The default as text, as {@link TasConfig#get} would print it ("" for none). */
    public String defaultValue() {
        return defaultText;
    }

    /** What values it accepts, e.g. {@code bytes from 2048 to 1073741824, e.g. 131072, 128k or 1m}. */
    public String accepts() {
        return type.accepts();
    }

    /** What the option does. */
    public String description() {
        return description;
    }

    /** Whether it may be given several times, each adding one value (ip-route, dpdk-extra). */
    public boolean repeatable() {
        return repeatable;
    }

    /** Whether it is a boolean: {@code --name} alone means true. */
    public boolean flag() {
        return type instanceof OptionTypes.BoolType;
    }

    @Override
    public String toString() {
        return "--" + name + (metavar.isEmpty() ? "" : "=" + metavar);
    }

    // ---- package-private: the table's machinery ----

    Object defaultParsed() {
        return defaultValue;
    }

    /**
     * Parses one value ({@code source} says where it came from, e.g. "-Dtas.mtu", for the message;
     * null if from code or arguments).
     */
    Object parse(String text, String source) {
        if (text == null) {
            throw new TasConfigException(name, prefix(source) + "needs a value; expected " + accepts());
        }
        try {
            return type.parse(text);
        } catch (OptionTypes.BadValue e) {
            throw new TasConfigException(name,
                    prefix(source) + quote(text) + " " + e.getMessage() + "; expected " + accepts());
        }
    }

    /** Formats a value of this option (a list, space-separated, for repeatable options). */
    String format(Object value) {
        if (repeatable) {
            List<String> parts = new ArrayList<>();
            for (Object o : (List<?>) value) {
                parts.add(type.format(o));
            }
            return String.join(" ", parts);
        }
        return type.format(value);
    }

    /** A refusal of this option's (otherwise valid) value because of another option. */
    TasConfigException conflict(String problem) {
        return new TasConfigException(name, "option " + name + ": " + problem);
    }

    private String prefix(String source) {
        return "option " + name + (source == null ? "" : " (from " + source + ")") + ": ";
    }

    static String quote(String text) {
        StringBuilder sb = new StringBuilder(text.length() + 2).append('"');
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (c == '"' || c == '\\') {
                sb.append('\\').append(c);
            } else if (c < 0x20 || c == 0x7F) {
                sb.append(String.format("\\u%04x", (int) c));
            } else {
                sb.append(c);
            }
        }
        return sb.append('"').toString();
    }
}
