package zgres.deadman;

import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

import zgres.api.clone.CloneMethod;
import zgres.api.clone.WalArchive;
import zgres.api.deadman.HealthVeto;
import zgres.api.deadman.MetadataProvider;

/**
 * What a deadman takes from plugins, each read when it is needed (plugins come and go while it runs).
 *
 * @param bundles the zgres bundles and their versions (published in /state)
 * @param vetoes health vetoes
 * @param metadata metadata providers
 * @param cloneMethods the installed clone methods
 * @param archives the installed WAL archives
 */
public record Extensions(Supplier<Map<String, String>> bundles, Supplier<List<HealthVeto>> vetoes,
        Supplier<List<MetadataProvider>> metadata, Supplier<List<CloneMethod>> cloneMethods,
        Supplier<List<WalArchive>> archives) {}
