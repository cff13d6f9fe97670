//! The quantized decode kernel (`ghostline_model::quant`) against llama.cpp, bit for bit.
//!
//! `fixtures/smollm2/kernels.json` holds, for the last position of a short prompt, the input and
//! output rows of five weight products as llama.cpp's CPU backend computed them (recorded by
//! `scripts/reference/llamacpp_kernels.py`): three Q4_1 projections of layer 0, the last layer's
//! Q4_1 down projection and the tied Q8_0 head. Feeding llama.cpp's input row to our kernel must
//! give llama.cpp's output row exactly: same 8-bit activation blocks, same integer dot products,
//! same order of floating-point operations. (The GGUF is the one `gguf_reference.rs` uses.)

mod common;

use ghostline_model::gguf::GgufFile;
use ghostline_model::quant::{Q8Row, QuantMatrix};
use serde_json::Value;

const FIXTURE: &str = include_str!("fixtures/smollm2/kernels.json");

fn floats(value: &Value) -> Vec<f32> {
    value
        .as_array()
        .expect("number array")
        .iter()
        .map(|v| v.as_f64().expect("number") as f32)
        .collect()
}

#[test]
fn quantized_products_equal_llama_cpp_bit_for_bit() {
    let Some(path) = common::smollm2_gguf() else {
        return;
    };
    let fixture: Value = serde_json::from_str(FIXTURE).expect("fixture JSON");
    assert_eq!(
        path.file_name().and_then(|n| n.to_str()),
        fixture["gguf"].as_str(),
        "the fixture was recorded for another file"
    );
    let bytes = std::fs::read(&path).expect("read GGUF");
    let file = GgufFile::parse(&bytes).expect("parse GGUF");
    for product in fixture["products"].as_array().expect("products") {
        let weight = product["weight"].as_str().unwrap();
        let info = file.tensor(weight).expect("tensor in the GGUF");
        let (cols, rows) = (info.dims[0], info.dims[1]);
        let matrix = QuantMatrix::new(info.kind, rows, cols, file.tensor_bytes(info).to_vec())
            .expect("a block type the kernel runs");
        let input = floats(&product["input"]);
        let x = Q8Row::quantize(&input);
        let mut out = vec![0.0f32; rows];
        matrix.matvec(&x, &mut out);
        let mut portable = vec![0.0f32; rows];
        matrix.matvec_portable(&x, &mut portable);
        let expected = floats(&product["output"]);
        let mut differing = 0;
        let mut worst = 0.0f32;
        for (row, want) in product["rows"].as_array().unwrap().iter().zip(&expected) {
            let row = row.as_u64().unwrap() as usize;
            assert_eq!(
                out[row].to_bits(),
                portable[row].to_bits(),
                "{weight} row {row}: SIMD vs portable"
            );
            if out[row].to_bits() != want.to_bits() {
                differing += 1;
                worst = worst.max((out[row] - want).abs());
            }
        }
        eprintln!(
            "{weight} ({:?}, {cols} → {rows}): {differing} of {} rows differ from llama.cpp (max |Δ| {worst:e})",
            info.kind,
            expected.len()
        );
        assert_eq!(differing, 0, "{weight}: not bit-identical to llama.cpp");
    }
}
