package zgres.shell.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.reflect.Method;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;

import org.apache.felix.service.command.Descriptor;
import org.junit.jupiter.api.Test;

/** The help the console and ./zgres ctl print, from the commands' own annotations. */
class UsageTest {
    static final List<Class<?>> COMMAND_CLASSES = List.of(ZgresCommands.class, ConfigCommands.class, AclCommands.class,
            BackupCommands.class,
            SyncCommands.class);

    @Test
    void everyCommandIsListedWithOneLine() {
        Set<String> declared = COMMAND_CLASSES.stream().flatMap(c -> Arrays.stream(c.getMethods()))
                .filter(m -> m.isAnnotationPresent(Descriptor.class)).map(Method::getName)
                .filter(n -> !n.equals("zgres")).collect(Collectors.toSet());
        assertThat(Usage.commands().keySet()).as("the help lists exactly the commands").containsExactlyInAnyOrderElementsOf(
                declared);
        for (String line : Usage.summary().lines().skip(1).toList()) {
            assertThat(line.length()).as(line).isLessThan(120);
        }
    }

    @Test
    void theConsolesHelpZgresShowsTheSameList() {
        // help zgres prints the descriptor of zgres:zgres: a constant, kept equal to what the annotations say
        assertThat(ZgresCommands.SUMMARY).isEqualTo(Usage.summary());
    }

    @Test
    void aCommandsUsageShowsItsOptionsAndArguments() {
        String u = Usage.of("switchover");
        assertThat(u).startsWith("usage: zgres:switchover").contains("--at VALUE").contains("<group> <candidate>");
        assertThat(Usage.of("list")).contains("[-j|--json]").contains("<group>");
        assertThat(Usage.of("config")).contains("<action> <arguments>...").contains("list, get, set or delete");
    }
}
