package org.ttt4j.cli;

import org.ttt4j.core.kernel.WeightFormat;
import picocli.CommandLine.Option;

/** {@code --weights f32|bf16|q8}: how a command stores the model's weight matrices while it runs it. */
public final class WeightsOption {
    @Option(names = "--weights", defaultValue = "f32", converter = Converter.class, paramLabel = "FORMAT",
            description = "store the weight matrices as f32, bf16 (bfloat16, half the bytes) or q8 (int8 blocks of 32 with one"
                    + " scale, about a quarter); decoding reads fewer bytes per token, the values change slightly"
                    + " (see docs/performance.md) (default: ${DEFAULT-VALUE})")
    WeightFormat weights = WeightFormat.F32;

    public WeightFormat format() {
        return weights;
    }

    static final class Converter implements picocli.CommandLine.ITypeConverter<WeightFormat> {
        @Override
        public WeightFormat convert(String value) {
            return WeightFormat.parse(value);
        }
    }
}
