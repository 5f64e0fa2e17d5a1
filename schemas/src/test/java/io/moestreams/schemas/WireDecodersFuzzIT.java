package io.moestreams.schemas;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.management.ThreadMXBean;
import io.moestreams.avro.DType;
import io.moestreams.avro.DispatchBlock;
import io.moestreams.avro.DispatchManifest;
import io.moestreams.avro.ExpertResult;
import io.moestreams.avro.InferenceRequest;
import io.moestreams.avro.Tensor;
import io.moestreams.embedded.SharedStack;
import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.serialization.Deserializer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Hostile input to the wire decoders (Confluent framing, Avro with the real registry's writer schemas, Tensor
 * shapes and lengths): a seeded, time-bounded mutation fuzzer. Every input must either decode or fail with the
 * decoders' own errors ({@link SerializationException}, {@link IllegalArgumentException}); a crash of any other
 * kind, a hang (> 5 s for one input) or an allocation beyond the input's size (the test JVM's heap is bounded, so
 * an input claiming gigabytes ends in OutOfMemoryError) fails the test with the input in hex.
 *
 * <p>Mutations: bit flips, random bytes, insertions, deletions, truncation, splicing two inputs, and writing large
 * or negative Avro varints (lengths and counts) at random offsets. Inputs that reach a new outcome (exception type
 * and message shape, or a decoded record type) join the corpus. {@code -Dmoe.fuzz.seconds=N} (default 20) sets the
 * budget, {@code -Dmoe.fuzz.seed=S} the seed.
 */
@Tag("integration")
@Timeout(600)
class WireDecodersFuzzIT {

    private static final Logger LOGGER = LoggerFactory.getLogger(WireDecodersFuzzIT.class);

    /** Bytes one input may allocate across all decoders: generous for a seed, tiny next to what a lie claims. */
    private static final long ALLOCATION_LIMIT = 16L * 1024 * 1024;

    private static final ThreadMXBean THREADS = (ThreadMXBean) ManagementFactory.getThreadMXBean();

    private static final String TOPIC = "fuzz-" + System.nanoTime() + ".topic";
    private static final List<Deserializer<? extends SpecificRecord>> DECODERS = new ArrayList<>();
    /** The decoder of each registered schema id (a payload of another id goes to every decoder). */
    private static final Map<Integer, Deserializer<? extends SpecificRecord>> BY_ID = new HashMap<>();

    private static final List<byte[]> SEEDS = new ArrayList<>();

    @BeforeAll
    static void registerSchemasAndEncodeSeeds() {
        SchemaRegistryClient client = new SchemaRegistryClient(SharedStack.get().schemaRegistryUrl());
        addSeeds(client, InferenceRequest.class, List.of(Samples.request("fz"), request(3, 8)));
        addSeeds(client, DispatchBlock.class, List.of(Samples.block("fz")));
        addSeeds(client, ExpertResult.class, List.of(Samples.result("fz")));
        addSeeds(client, DispatchManifest.class, List.of(Samples.manifest("fz")));
    }

    private static InferenceRequest request(int seqLen, int hidden) {
        return InferenceRequest.newBuilder()
                .setRequestId("seed")
                .setTokens(Tensors.bf16(new float[seqLen * hidden], seqLen, hidden))
                .setDeadlineMs(1L)
                .build();
    }

    private static <T extends SpecificRecord> void addSeeds(SchemaRegistryClient client, Class<T> type, List<T> r) {
        AvroSerializer<T> serializer = new AvroSerializer<>(client);
        AvroDeserializer<T> decoder = new AvroDeserializer<>(client, type);
        for (T record : r) {
            byte[] seed = serializer.serialize(TOPIC + "-" + type.getSimpleName(), record);
            SEEDS.add(seed);
            BY_ID.put(WireFormat.schemaId(seed), decoder);
        }
        DECODERS.add(decoder);
    }

    /** Runs one input through every decoder and the tensor checks; returns the outcome signature. */
    static String target(byte[] input) {
        StringBuilder outcome = new StringBuilder();
        try {
            WireFormat.schemaId(input);
        } catch (IllegalArgumentException e) {
            outcome.append("frame:").append(shape(e.getMessage())).append(';');
        }
        Deserializer<? extends SpecificRecord> own =
                input.length >= WireFormat.HEADER_SIZE && input[0] == 0 ? BY_ID.get(WireFormat.schemaId(input)) : null;
        for (Deserializer<? extends SpecificRecord> d : own == null ? DECODERS : List.of(own)) {
            try {
                SpecificRecord r = d.deserialize(TOPIC, input);
                outcome.append(r == null ? "null" : r.getClass().getSimpleName());
                if (r != null) {
                    for (Tensor t : tensors(r)) {
                        float[] values = Tensors.toFloats(t, "fuzz");
                        outcome.append('[').append(values.length > 0 ? 1 : 0).append(']');
                    }
                }
            } catch (SerializationException | IllegalArgumentException e) {
                outcome.append(e.getClass().getSimpleName()).append(':').append(shape(e.getMessage()));
            }
            outcome.append(';');
        }
        return outcome.toString();
    }

    private static List<Tensor> tensors(SpecificRecord r) {
        if (r instanceof InferenceRequest q) {
            return List.of(q.getTokens());
        }
        if (r instanceof DispatchBlock b) {
            return List.of(b.getGateWeights(), b.getHidden());
        }
        if (r instanceof ExpertResult x) {
            return List.of(x.getOutput());
        }
        if (r instanceof DispatchManifest m) {
            return List.of(m.getTokenWeights());
        }
        return List.of();
    }

    /** A message without its numbers, ids and quoted parts: the kind of failure, not its instance. */
    private static String shape(String message) {
        String m = message == null ? "" : message;
        m = m.replaceAll("'[^']*'", "'_'").replaceAll("-?\\d+", "N");
        return m.length() > 80 ? m.substring(0, 80) : m;
    }

    @Test
    void mutatedPayloadsNeverCrashHangOrAllocateBeyondTheirSize() {
        long seconds = Long.getLong("moe.fuzz.seconds", 20);
        long seed = Long.getLong("moe.fuzz.seed", 20261129L);
        Random random = new Random(seed);
        List<byte[]> corpus = new ArrayList<>(SEEDS);
        Set<String> outcomes = new HashSet<>();
        for (byte[] s : SEEDS) {
            outcomes.add(target(s));
        }
        long[] stats = new long[3]; // executions, slowest input in ns, most bytes allocated by one input
        assertTimeoutPreemptively(Duration.ofSeconds(seconds + 60), () -> {
            long deadline = System.nanoTime() + seconds * 1_000_000_000L;
            while (System.nanoTime() < deadline) {
                byte[] input = mutate(corpus, random);
                long t0 = System.nanoTime();
                long allocated0 = THREADS.getCurrentThreadAllocatedBytes();
                String outcome = assertDoesNotThrow(
                        () -> target(input),
                        () -> "decoder crash on input " + HexFormat.of().formatHex(input));
                long took = System.nanoTime() - t0;
                long allocated = THREADS.getCurrentThreadAllocatedBytes() - allocated0;
                assertTrue(
                        allocated < ALLOCATION_LIMIT,
                        "one input of " + input.length + " bytes allocated " + allocated + " bytes: "
                                + HexFormat.of().formatHex(input));
                stats[2] = Math.max(stats[2], allocated);
                stats[0]++;
                stats[1] = Math.max(stats[1], took);
                assertTrue(
                        took < 5_000_000_000L,
                        "one input took " + took / 1_000_000 + " ms: "
                                + HexFormat.of().formatHex(input));
                if (outcomes.add(outcome) && corpus.size() < 10_000) {
                    corpus.add(input);
                }
            }
        });
        LOGGER.info(
                "fuzzed the wire decoders for {} s (seed {}): {} inputs, corpus {} ({} seeds), {} distinct outcomes, "
                        + "slowest input {} ms, most allocated by one input {} KiB",
                seconds,
                seed,
                stats[0],
                corpus.size(),
                SEEDS.size(),
                outcomes.size(),
                stats[1] / 1_000_000,
                stats[2] / 1024);
        assertTrue(stats[0] > 1000, "the fuzzer ran only " + stats[0] + " inputs");
        assertTrue(corpus.size() > SEEDS.size(), "no mutation reached a new outcome");
    }

    static byte[] mutate(List<byte[]> corpus, Random random) {
        byte[] base = corpus.get(random.nextInt(corpus.size()));
        byte[] out = base.clone();
        int rounds = 1 + random.nextInt(4);
        for (int r = 0; r < rounds; r++) {
            // mostly the Avro body: a mutated schema id costs a registry lookup, so it is tried less often
            int first = out.length > WireFormat.HEADER_SIZE && random.nextInt(10) > 0 ? WireFormat.HEADER_SIZE : 0;
            int pos = out.length == 0 ? 0 : first + random.nextInt(out.length - first);
            switch (random.nextInt(8)) {
                case 0 -> {
                    if (out.length > 0) {
                        out[pos] ^= (byte) (1 << random.nextInt(8));
                    }
                }
                case 1 -> {
                    if (out.length > 0) {
                        out[pos] = (byte) random.nextInt(256);
                    }
                }
                case 2 -> out = splice(out, pos, 0, randomBytes(random, 1 + random.nextInt(8)));
                case 3 -> out = splice(out, pos, Math.min(out.length - pos, 1 + random.nextInt(8)), new byte[0]);
                case 4 -> out = Arrays.copyOf(out, pos);
                case 5 -> {
                    byte[] other = corpus.get(random.nextInt(corpus.size()));
                    int from = other.length == 0 ? 0 : random.nextInt(other.length);
                    byte[] tail = Arrays.copyOfRange(other, from, other.length);
                    out = splice(out, pos, out.length - pos, tail);
                }
                default -> {
                    // a large, small or negative Avro length/count: zig-zag varint of a hostile value
                    long[] hostile = {
                        Integer.MAX_VALUE,
                        Integer.MAX_VALUE - 8,
                        1L << 30,
                        1L << 40,
                        -1,
                        -2,
                        Long.MIN_VALUE,
                        65_536L * 32_768L,
                        0,
                        1_000_000
                    };
                    byte[] varint = zigZag(hostile[random.nextInt(hostile.length)]);
                    int replace = Math.min(out.length - pos, random.nextInt(3));
                    out = splice(out, pos, replace, varint);
                }
            }
        }
        return out;
    }

    private static byte[] splice(byte[] a, int pos, int remove, byte[] insert) {
        byte[] out = new byte[a.length - remove + insert.length];
        System.arraycopy(a, 0, out, 0, pos);
        System.arraycopy(insert, 0, out, pos, insert.length);
        System.arraycopy(a, pos + remove, out, pos + insert.length, a.length - pos - remove);
        return out;
    }

    private static byte[] randomBytes(Random random, int n) {
        byte[] b = new byte[n];
        random.nextBytes(b);
        return b;
    }

    static byte[] zigZag(long value) {
        long v = (value << 1) ^ (value >> 63);
        ByteBuffer out = ByteBuffer.allocate(10);
        while ((v & ~0x7FL) != 0) {
            out.put((byte) ((v & 0x7F) | 0x80));
            v >>>= 7;
        }
        out.put((byte) v);
        return Arrays.copyOf(out.array(), out.position());
    }

    // ---------------------------------------------------------------------------------------------------------
    // the attacks the fuzzer must not need luck for

    @Test
    void anArrayClaimingBillionsOfItemsIsRefusedBeforeAllocating() {
        // Given a framed InferenceRequest whose tokens.shape claims 2^30 ints in a 20-byte payload
        byte[] seed = SEEDS.get(0);
        byte[] header = Arrays.copyOf(seed, WireFormat.HEADER_SIZE);
        ByteBuffer body = ByteBuffer.allocate(64);
        body.put(zigZag(1)).put((byte) 'x'); // requestId "x"
        body.put(zigZag(0)); // dtype F32
        body.put(zigZag(1L << 30)); // shape: an array block of 2^30 items...
        body.put(zigZag(4)); // ...of which one is here
        byte[] input = new byte[header.length + body.position()];
        System.arraycopy(header, 0, input, 0, header.length);
        System.arraycopy(body.array(), 0, input, header.length, body.position());
        // When it is decoded, it fails as corrupt input, allocating nothing of that size
        Deserializer<? extends SpecificRecord> requests = DECODERS.get(0);
        SerializationException e = assertThrows(SerializationException.class, () -> requests.deserialize(TOPIC, input));
        assertTrue(e.getMessage().contains("corrupt"), e.getMessage());
    }

    @Test
    void aTensorClaimingTwoGigabytesIsRefusedBeforeAllocating() {
        // Given a tensor whose shape [65536, 32768] of F32 claims 8 GiB but carries 16 bytes
        Tensor t = Tensor.newBuilder()
                .setDtype(DType.F32)
                .setShape(List.of(65_536, 32_768))
                .setData(ByteBuffer.allocate(16))
                .build();
        // Then decoding it is refused naming the field, the shape and the bytes it needs
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Tensors.toFloats(t, "tokens"));
        assertTrue(e.getMessage().contains("tokens") && e.getMessage().contains("65536"), e.getMessage());
        // and so is one whose element count does not fit an int
        Tensor huge = Tensor.newBuilder(t).setShape(List.of(1 << 16, 1 << 16)).build();
        assertInstanceOf(
                IllegalArgumentException.class,
                assertThrows(RuntimeException.class, () -> Tensors.validate(huge, "tokens")));
    }
}
