//! Leptos.toml (read by the server binary) must say what Cargo.toml's
//! `[package.metadata.leptos]` (read by the release build, xtask, and by cargo-leptos) says,
//! or the server would look for the wasm bundle where the build did not put it.

use leptos::config::{get_config_from_str, LeptosOptions};

fn read(file: &str) -> LeptosOptions {
    let path = format!("{}/{file}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|err| panic!("{path}: {err}"));
    get_config_from_str(&text).unwrap_or_else(|err| panic!("{path}: {err}"))
}

#[test]
fn leptos_toml_matches_cargo_toml() {
    let build = read("Cargo.toml");
    let run = read("Leptos.toml");
    assert_eq!(run.output_name, build.output_name, "output-name");
    assert_eq!(run.site_root, build.site_root, "site-root");
    assert_eq!(run.site_pkg_dir, build.site_pkg_dir, "site-pkg-dir");
    assert_eq!(run.site_addr, build.site_addr, "site-addr");
    assert_eq!(run.reload_port, build.reload_port, "reload-port");
    assert_eq!(run.hash_files, build.hash_files, "hash-files");
    // The build writes the hashes where `hash-file-name` says; Leptos reads `hash-file`.
    let cargo = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml"))
        .expect("Cargo.toml");
    let written = format!("hash-file-name = \"{}\"", run.hash_file);
    assert!(cargo.contains(&written), "Cargo.toml must say {written}");
    // The one intended difference: cargo-leptos builds for development unless told
    // `--release` (`make dev`), while a server started on its own serves a release build.
    assert_eq!(run.env, leptos::config::Env::PROD, "env");
}

#[test]
fn every_cargo_build_names_the_wasm_as_cargo_leptos_does() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/.cargo/config.toml");
    let text = std::fs::read_to_string(path).unwrap_or_else(|err| panic!("{path}: {err}"));
    let expected = format!(
        "LEPTOS_OUTPUT_NAME = \"{}\"",
        read("Cargo.toml").output_name
    );
    assert!(text.contains(&expected), "{path} must set {expected}");
}
