package zgres.shell.internal;

import java.util.ArrayList;
import java.util.List;

/** A plain text table with a title, in the style of {@code patronictl list}. */
final class Table {
    private final String title;
    private final String[] headers;
    private final List<String[]> rows = new ArrayList<>();
    private final boolean[] rightAligned;

    Table(String title, String... headers) {
        this.title = title;
        this.headers = headers;
        this.rightAligned = new boolean[headers.length];
    }

    Table right(int... columns) {
        for (int c : columns) {
            rightAligned[c] = true;
        }
        return this;
    }

    void row(Object... cells) {
        String[] r = new String[headers.length];
        for (int i = 0; i < r.length; i++) {
            r[i] = i < cells.length && cells[i] != null ? cells[i].toString() : "";
        }
        rows.add(r);
    }

    @Override
    public String toString() {
        int[] w = new int[headers.length];
        for (int i = 0; i < w.length; i++) {
            w[i] = headers[i].length();
            for (String[] r : rows) {
                w[i] = Math.max(w[i], r[i].length());
            }
        }
        StringBuilder sep = new StringBuilder("+");
        for (int x : w) {
            sep.append("-".repeat(x + 2)).append('+');
        }
        StringBuilder sb = new StringBuilder();
        String head = "+ " + title + " ";
        if (head.length() < sep.length()) {
            sb.append(head).append(sep.substring(head.length()));
        } else {
            sb.append(head).append('+');
        }
        sb.append('\n');
        line(sb, headers, w);
        sb.append(sep).append('\n');
        for (String[] r : rows) {
            line(sb, r, w);
        }
        sb.append(sep);
        return sb.toString();
    }

    private void line(StringBuilder sb, String[] cells, int[] w) {
        sb.append('|');
        for (int i = 0; i < w.length; i++) {
            String c = cells[i];
            String pad = " ".repeat(w[i] - c.length());
            sb.append(' ').append(rightAligned[i] ? pad + c : c + pad).append(" |");
        }
        sb.append('\n');
    }
}
