//! The build's libraries must be the versions of the app's own: wasm-bindgen's JS glue from
//! the `wasm-bindgen` the crate links, and the lazy-module split in the format of the
//! `wasm_split_helpers` the app's wasm calls. Read from the one Cargo.lock both share.

use std::collections::HashMap;

fn locked_versions() -> HashMap<String, Vec<String>> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../Cargo.lock");
    let text = std::fs::read_to_string(path).unwrap_or_else(|err| panic!("{path}: {err}"));
    let lock: toml::Table = text.parse().unwrap_or_else(|err| panic!("{path}: {err}"));
    let mut versions: HashMap<String, Vec<String>> = HashMap::new();
    for package in lock["package"].as_array().expect("[[package]]") {
        let name = package["name"].as_str().expect("a name");
        let version = package["version"].as_str().expect("a version");
        versions
            .entry(name.to_string())
            .or_default()
            .push(version.to_string());
    }
    versions
}

fn only(versions: &HashMap<String, Vec<String>>, name: &str) -> String {
    match versions.get(name).map(Vec::as_slice) {
        Some([version]) => version.clone(),
        other => panic!("Cargo.lock must hold one {name}, not {other:?}"),
    }
}

#[test]
fn wasm_bindgen_glue_comes_from_the_linked_version() {
    let versions = locked_versions();
    assert_eq!(
        only(&versions, "wasm-bindgen-cli-support"),
        only(&versions, "wasm-bindgen"),
        "xtask/Cargo.toml's wasm-bindgen-cli-support pin must follow the wasm-bindgen in Cargo.lock"
    );
}

#[test]
fn the_split_writes_the_format_the_app_reads() {
    let versions = locked_versions();
    assert_eq!(
        only(&versions, "wasm_split_cli_support"),
        only(&versions, "wasm_split_helpers"),
        "xtask/Cargo.toml's wasm_split_cli_support pin must follow the wasm_split_helpers in Cargo.lock"
    );
}
