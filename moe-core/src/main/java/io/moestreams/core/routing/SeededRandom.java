package io.moestreams.core.routing;

import java.nio.charset.StandardCharsets;
import java.util.Objects;

/**
 * The deterministic random stream of one token, used by noisy top-k gating and GShard random routing so that a
 * replay of a request routes identically, on any JVM.
 *
 * <p>Derivation (everything in 64-bit two's-complement arithmetic, {@code >>>} = unsigned shift):
 * <pre>
 *   mix64(z)   = z ^= z &gt;&gt;&gt; 30; z *= 0xbf58476d1ce4e5b9; z ^= z &gt;&gt;&gt; 27; z *= 0x94d049bb133111eb; z ^ z &gt;&gt;&gt; 31
 *   fnv1a64(s) = FNV-1a 64 over the UTF-8 bytes of s (offset basis 0xcbf29ce484222325, prime 0x100000001b3)
 *   state0     = mix64(mix64(mix64(modelSeed + 0x9e3779b97f4a7c15) ^ fnv1a64(requestId)) ^ position)
 *   nextLong() = state += 0x9e3779b97f4a7c15; return mix64(state)          (SplitMix64)
 *   nextDouble() = (nextLong() &gt;&gt;&gt; 11) · 2^-53                              (uniform in [0, 1))
 *   nextGaussian(): Marsaglia polar method on u = 2·nextDouble() − 1, v = 2·nextDouble() − 1, repeated until
 *                   0 &lt; s = u² + v² &lt; 1; returns u·m and caches v·m for the next call, m = sqrt(−2·ln(s)/s)
 *                   with {@link StrictMath#log} (bit-reproducible) and {@link StrictMath#sqrt}.
 * </pre>
 * The generator is implemented here rather than delegated to {@code java.util.SplittableRandom} so that the stream
 * (including the Gaussian algorithm) is pinned by this code and not by a JDK version. Not thread-safe; create one
 * per token.
 */
public final class SeededRandom {

    private static final long GOLDEN_GAMMA = 0x9e3779b97f4a7c15L;
    private static final long FNV_OFFSET_BASIS = 0xcbf29ce484222325L;
    private static final long FNV_PRIME = 0x100000001b3L;

    private long state;
    private double spareGaussian;
    private boolean hasSpare;

    private SeededRandom(long state) {
        this.state = state;
    }

    /**
     * The stream of the token at {@code position} of request {@code requestId} under model seed {@code modelSeed}.
     *
     * @throws IllegalArgumentException if {@code position} is negative
     * @throws NullPointerException     if {@code requestId} is null
     */
    public static SeededRandom forToken(long modelSeed, String requestId, int position) {
        Objects.requireNonNull(requestId, "requestId");
        if (position < 0) {
            throw new IllegalArgumentException("position: expected >= 0, found " + position);
        }
        long s = mix64(modelSeed + GOLDEN_GAMMA);
        s = mix64(s ^ fnv1a64(requestId));
        s = mix64(s ^ position);
        return new SeededRandom(s);
    }

    /** FNV-1a 64-bit hash of the UTF-8 bytes of {@code value} (stable across JVMs, unlike {@code String.hashCode}). */
    public static long fnv1a64(String value) {
        long h = FNV_OFFSET_BASIS;
        for (byte b : value.getBytes(StandardCharsets.UTF_8)) {
            h ^= b & 0xffL;
            h *= FNV_PRIME;
        }
        return h;
    }

    /** The next 64 uniformly distributed bits (SplitMix64). */
    public long nextLong() {
        state += GOLDEN_GAMMA;
        return mix64(state);
    }

    /** Uniform in [0, 1), 53 bits of precision. */
    public double nextDouble() {
        return (nextLong() >>> 11) * 0x1.0p-53;
    }

    /** Standard normal N(0, 1) (Marsaglia polar method, see the class comment). */
    public double nextGaussian() {
        if (hasSpare) {
            hasSpare = false;
            return spareGaussian;
        }
        double u;
        double v;
        double s;
        do {
            u = 2.0 * nextDouble() - 1.0;
            v = 2.0 * nextDouble() - 1.0;
            s = u * u + v * v;
        } while (s >= 1.0 || s == 0.0);
        double m = StrictMath.sqrt(-2.0 * StrictMath.log(s) / s);
        spareGaussian = v * m;
        hasSpare = true;
        return u * m;
    }

    private static long mix64(long z) {
        z = (z ^ (z >>> 30)) * 0xbf58476d1ce4e5b9L;
        z = (z ^ (z >>> 27)) * 0x94d049bb133111ebL;
        return z ^ (z >>> 31);
    }

    @Override
    public String toString() {
        return "SeededRandom";
    }
}
