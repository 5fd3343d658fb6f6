package zgres.runtime.internal;

import java.util.concurrent.atomic.AtomicBoolean;

import org.osgi.framework.BundleContext;
import org.osgi.framework.BundleException;
import org.osgi.framework.launch.Framework;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Stops the OSGi framework when the JVM is asked to exit (SIGTERM, SIGINT, {@code System.exit}), and waits for it:
 * components deactivate in order, so a deadman stops PostgreSQL cleanly and releases its lock and ZooKeeper
 * session instead of leaving them to expire. (The exported launcher does not do this by itself.)
 */
@Component(immediate = true)
public class RuntimeLifecycle {
    private static final Logger LOG = LoggerFactory.getLogger(RuntimeLifecycle.class);
    private static final AtomicBoolean INSTALLED = new AtomicBoolean();
    private final Thread hook;

    @Activate
    public RuntimeLifecycle(BundleContext context) {
        Framework framework = (Framework) context.getBundle(0);
        hook = new Thread(() -> {
            try {
                LOG.info("JVM shutting down: stopping the OSGi framework");
                framework.stop();
                framework.waitForStop(60_000);
            } catch (BundleException | InterruptedException e) {
                LOG.error("could not stop the framework cleanly: {}", e.toString());
            }
        }, "zgres-shutdown");
        if (INSTALLED.compareAndSet(false, true)) {
            Runtime.getRuntime().addShutdownHook(hook);
        }
    }

    @Deactivate
    void deactivate() {
        try {
            if (Runtime.getRuntime().removeShutdownHook(hook)) {
                INSTALLED.set(false);
            }
        } catch (IllegalStateException e) {
            // the JVM is already shutting down: our hook is what stops us
        }
    }
}
