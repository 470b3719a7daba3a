package org.ttt4j.server;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.ttt4j.lm.io.AtomicFiles;

/** A server in a process of its own, for the kill -9 test: {@code ServerMain STATE_DIR PORT_FILE KIND}. */
public final class ServerMain {
    private ServerMain() {}

    public static void main(String[] args) throws Exception {
        var server = TttServer.builder().model(Models.of(args[2])).modelId("tiny").port(0).stateDir(Path.of(args[0]))
                .maxTokens(1_000_000).build().start();
        AtomicFiles.write(Path.of(args[1]), Integer.toString(server.port()).getBytes(StandardCharsets.UTF_8));
        Thread.sleep(Long.MAX_VALUE);
    }
}
