package org.ttt4j.lm.layers;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import org.ttt4j.core.kernel.IndexKernels;

/**
 * A change of RoPE's rotation speeds for contexts longer than the model was first trained on, as
 * in Hugging Face configs' {@code rope_scaling}:
 * <ul>
 *   <li>{@code linear}: every speed divided by {@code factor} (positions interpolated);</li>
 *   <li>{@code llama3}: speeds whose wavelength exceeds {@code original_max_position_embeddings /
 *       low_freq_factor} are divided by {@code factor}, those below {@code .. / high_freq_factor}
 *       kept, and those between blended linearly in {@code original / wavelength} (Llama 3.1).</li>
 * </ul>
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record RopeScaling(
        @JsonProperty("type") String type,
        @JsonProperty("factor") double factor,
        @JsonProperty("low_freq_factor") Double lowFreqFactor,
        @JsonProperty("high_freq_factor") Double highFreqFactor,
        @JsonProperty("original_max_position_embeddings") Integer originalMaxPositions) {

    /** Checks the fields for {@code type}; throws naming the field. */
    public RopeScaling validate() {
        switch (type == null ? "" : type) {
            case "linear" -> require(factor >= 1, "factor", "must be >= 1, got " + factor);
            case "llama3" -> {
                require(factor >= 1, "factor", "must be >= 1, got " + factor);
                require(lowFreqFactor != null && lowFreqFactor > 0, "low_freq_factor", "must be > 0, got " + lowFreqFactor);
                require(highFreqFactor != null && highFreqFactor > lowFreqFactor, "high_freq_factor",
                        "must be > low_freq_factor, got " + highFreqFactor);
                require(originalMaxPositions != null && originalMaxPositions > 0, "original_max_position_embeddings",
                        "must be > 0, got " + originalMaxPositions);
            }
            default -> throw new IllegalArgumentException("config field rope_scaling.type: \"" + type
                    + "\" is not supported (supported: linear, llama3)");
        }
        return this;
    }

    /** The rotation speeds of a {@code headDim}-wide head with base {@code theta}, scaled. */
    public double[] inverseFrequencies(double theta, int headDim) {
        double[] inv = IndexKernels.inverseFrequencies(theta, headDim);
        for (int f = 0; f < inv.length; f++) {
            double base = inv[f];
            inv[f] = switch (type) {
                case "linear" -> base / factor;
                case "llama3" -> {
                    double wavelength = 2 * Math.PI / base;
                    double longest = originalMaxPositions / lowFreqFactor, shortest = originalMaxPositions / highFreqFactor;
                    if (wavelength > longest) yield base / factor;
                    if (wavelength < shortest) yield base;
                    double blend = (originalMaxPositions / wavelength - lowFreqFactor) / (highFreqFactor - lowFreqFactor);
                    yield (1 - blend) * base / factor + blend * base;
                }
                default -> throw new IllegalStateException("rope scaling " + type);
            };
        }
        return inv;
    }

    private static void require(boolean ok, String field, String reason) {
        if (!ok) throw new IllegalArgumentException("config field rope_scaling." + field + ": " + reason);
    }
}
