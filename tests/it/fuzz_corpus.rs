//! The fuzz targets' checks as ordinary tests: every seed and past finding in
//! `fuzz/seeds/<target>/`, then a few thousand deterministic mutations of them. CI runs this
//! on stable in seconds; the open-ended coverage-guided runs are `make fuzz` (nightly).

#[path = "../../fuzz/src/checks.rs"]
mod checks;

use std::path::PathBuf;

/// Mutations per seed: enough to walk the odd corners, few enough to take well under a second.
const MUTATIONS: usize = 400;

/// Bytes that matter to one parser or another.
const INTERESTING: &[u8] = b"\r\n:-%&=,\"{}[]\\\0\xEF\xBB\xBF\xFF+09az ";

fn seeds(target: &str) -> Vec<Vec<u8>> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/seeds")
        .join(target);
    let mut seeds: Vec<Vec<u8>> = std::fs::read_dir(&dir)
        .unwrap_or_else(|err| panic!("{}: {err}", dir.display()))
        .map(|entry| std::fs::read(entry.expect("entry").path()).expect("a seed"))
        .collect();
    seeds.sort();
    assert!(!seeds.is_empty(), "no seeds for {target}");
    seeds
}

/// A small xorshift generator: the same mutations on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % n.max(1) as u64).unwrap_or(0)
    }
}

fn mutate(seed: &[u8], rng: &mut Rng) -> Vec<u8> {
    let mut bytes = seed.to_vec();
    for _ in 0..=rng.below(4) {
        let at = rng.below(bytes.len() + 1);
        let byte = INTERESTING[rng.below(INTERESTING.len())];
        match rng.below(3) {
            0 => bytes.insert(at, byte),
            1 if at < bytes.len() => bytes[at] = byte,
            _ if at < bytes.len() => {
                bytes.remove(at);
            }
            _ => bytes.push(byte),
        }
    }
    bytes
}

fn replay(target: &str, check: fn(&[u8])) {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    for seed in seeds(target) {
        check(&seed);
        for _ in 0..MUTATIONS {
            check(&mutate(&seed, &mut rng));
        }
    }
}

#[test]
fn client_message() {
    replay("client_message", checks::check_client_message);
}

#[test]
fn event_id() {
    replay("event_id", checks::check_event_id);
}

#[test]
fn query() {
    replay("query", checks::check_query);
}

#[test]
fn sse_round_trip() {
    replay("sse_round_trip", checks::check_sse_round_trip);
}
