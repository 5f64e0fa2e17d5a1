package io.moestreams.cli;

import java.nio.file.AccessDeniedException;
import java.nio.file.NoSuchFileException;

/** Turns exceptions into one-line messages for the terminal (the cause chain, without stack traces). */
final class Errors {

    private Errors() {}

    static String describe(Throwable t) {
        StringBuilder sb = new StringBuilder();
        Throwable cur = t;
        int depth = 0;
        while (cur != null && depth < 4) {
            String msg;
            if (cur instanceof NoSuchFileException) {
                msg = "file not found: " + cur.getMessage();
            } else if (cur instanceof AccessDeniedException) {
                msg = "permission denied: " + cur.getMessage();
            } else {
                msg = cur.getMessage() == null ? cur.getClass().getSimpleName() : cur.getMessage();
            }
            if (sb.indexOf(msg) < 0) {
                if (sb.length() > 0) {
                    sb.append(": ");
                }
                sb.append(msg);
            }
            cur = cur.getCause();
            depth++;
        }
        return sb.toString();
    }
}
