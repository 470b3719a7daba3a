package org.ttt4j.cli;

import org.ttt4j.core.kernel.WeightFormat;
import org.ttt4j.lm.layers.KvCache;
import org.ttt4j.lm.model.Decoder;
import picocli.CommandLine.Option;

/** {@code --weights f32|bf16|q8} and {@code --kv-cache f32|bf16}: how a command stores the model's weight matrices and cached keys and values while it runs it. */
public final class WeightsOption {
    @Option(names = "--weights", defaultValue = "f32", converter = Converter.class, paramLabel = "FORMAT",
            description = "store the weight matrices as f32, bf16 (bfloat16, half the bytes) or q8 (int8 blocks of 32 with one"
                    + " scale, about a quarter); decoding reads fewer bytes per token, the values change slightly"
                    + " (see docs/performance.md) (default: ${DEFAULT-VALUE})")
    WeightFormat weights = WeightFormat.F32;

    @Option(names = "--kv-cache", defaultValue = "f32", converter = KvConverter.class, paramLabel = "FORMAT",
            description = "store attention's cached keys and values as f32 or bf16 (half the bytes a decoded token reads from a long"
                    + " context; each key and value rounded once when cached; TTT-E2E and qTTT sessions keep f32) (default: ${DEFAULT-VALUE})")
    KvCache.Format kvCache = KvCache.Format.F32;

    public WeightFormat format() {
        return weights;
    }

    public KvCache.Format kvCache() {
        return kvCache;
    }

    /** Stores {@code model}'s weight matrices and sets its KV cache format as these options say. */
    public Decoder applyTo(Decoder model) {
        return model.storeWeights(weights).kvCacheFormat(kvCache);
    }

    static final class KvConverter implements picocli.CommandLine.ITypeConverter<KvCache.Format> {
        @Override
        public KvCache.Format convert(String value) {
            return KvCache.Format.parse(value);
        }
    }

    static final class Converter implements picocli.CommandLine.ITypeConverter<WeightFormat> {
        @Override
        public WeightFormat convert(String value) {
            return WeightFormat.parse(value);
        }
    }
}
