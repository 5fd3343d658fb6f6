package zgres.api.clone;

import java.util.List;

/**
 * How a program run by {@link LocalCluster#run} ended.
 *
 * @param command the command line (no secrets: they travel in files and the environment)
 * @param exitCode its exit code (-1 when it timed out)
 * @param output its standard output and error
 * @param timedOut true when it was killed at the timeout
 */
public record CommandResult(List<String> command, int exitCode, String output, boolean timedOut) {
    public CommandResult {
        command = List.copyOf(command);
        output = output == null ? "" : output;
    }

    public boolean ok() {
        return exitCode == 0 && !timedOut;
    }

    /** @return the program, how it ended and the end of its output, for an error message */
    public String describe() {
        String out = output.strip();
        if (out.length() > 2000) {
            out = "..." + out.substring(out.length() - 2000);
        }
        return (command.isEmpty() ? "?" : command.get(0)) + (timedOut ? " timed out" : " exited " + exitCode)
                + (out.isEmpty() ? "" : ": " + out.replace('\n', ' '));
    }
}
