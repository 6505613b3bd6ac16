//! Compiles the Lance protobuf definitions in `protos/` with protox (no system protoc needed).

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let proto_dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../protos");
    let files = [
        "file.proto",
        "file2.proto",
        "encodings_v2_0.proto",
        "encodings_v2_1.proto",
    ];
    for file in files {
        println!("cargo:rerun-if-changed={proto_dir}/{file}");
    }
    let descriptors = protox::compile(files, [proto_dir])?;
    prost_build::Config::new().compile_fds(descriptors)?;
    Ok(())
}
