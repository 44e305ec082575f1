//! Noise: the only source of randomness in the market, and the samplers built on it
//! (uniform, Box–Muller normal, Poisson, weighted choice).
//!
//! Invariant: every random number the model uses comes from a [`Noise`], which is a
//! `ChaCha8Rng` seeded from the market's seed and a stream number, and every
//! transformation of it is written here with `libm`. No distribution crate is
//! involved, because those are free to change the values they return between
//! versions, and no `f64::exp`/`ln`/`cos` is used, because those call the platform's
//! maths library, which is not bit-identical everywhere. Basic IEEE operations
//! (`+ - * /`, `sqrt`, `round`) are exact and portable; `libm` is pure Rust. Together
//! that makes a seed replay bit for bit on every machine and every release.
//!
//! Several independent streams of one seed keep the parts of the model from
//! disturbing each other: an instructor's headline draws from its own stream, so
//! injecting it changes what it touches and nothing else.

use rand_chacha::rand_core::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Independent random streams of one seed (the ChaCha stream id).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stream {
    /// Price shocks, tick timing and volumes.
    Prices = 1,
    /// Arrivals and content of generated news.
    News = 2,
    /// Price effects of instructor headlines.
    Desk = 3,
}

/// Where a [`Noise`] stands, as a checkpoint stores it.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct NoisePosition {
    seed: [u8; 32],
    stream: u64,
    /// The generator's word position (a `u128`, as text: JSON numbers stop at 2^53).
    word: String,
    spare_normal: Option<f64>,
}

/// A deterministic random source with the samplers the model needs.
#[derive(Clone, Debug)]
pub struct Noise {
    rng: ChaCha8Rng,
    /// Box–Muller yields normals in pairs; the second is kept for the next call.
    spare_normal: Option<f64>,
}

impl Noise {
    /// A stream of `seed`. The same pair always yields the same numbers.
    pub fn new(seed: u64, stream: Stream) -> Noise {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        rng.set_stream(stream as u64);
        Noise {
            rng,
            spare_normal: None,
        }
    }

    /// Where this stream stands: enough to continue it exactly ([`Noise::resume`]).
    pub fn position(&self) -> NoisePosition {
        NoisePosition {
            seed: self.rng.get_seed(),
            stream: self.rng.get_stream(),
            word: self.rng.get_word_pos().to_string(),
            spare_normal: self.spare_normal,
        }
    }

    /// The stream at `position`: it yields what the stream it was taken from would have.
    pub fn resume(position: &NoisePosition) -> Option<Noise> {
        let mut rng = ChaCha8Rng::from_seed(position.seed);
        rng.set_stream(position.stream);
        rng.set_word_pos(position.word.parse().ok()?);
        Some(Noise {
            rng,
            spare_normal: position.spare_normal,
        })
    }

    /// Uniform in [0, 1) with 53 random bits.
    pub fn uniform(&mut self) -> f64 {
        (self.rng.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform in (0, 1]: safe to take the logarithm of.
    fn uniform_open0(&mut self) -> f64 {
        1.0 - self.uniform()
    }

    /// Standard normal, by Box–Muller.
    pub fn normal(&mut self) -> f64 {
        if let Some(z) = self.spare_normal.take() {
            return z;
        }
        let r = libm::sqrt(-2.0 * libm::log(self.uniform_open0()));
        let theta = 2.0 * std::f64::consts::PI * self.uniform();
        self.spare_normal = Some(r * libm::sin(theta));
        r * libm::cos(theta)
    }

    /// Poisson count with mean `lambda`, by Knuth's product method. The model only
    /// asks for small means (news per step), where this is exact and cheap; large
    /// means are capped so a silly configuration cannot loop for long.
    pub fn poisson(&mut self, lambda: f64) -> u32 {
        if lambda.is_nan() || lambda <= 0.0 {
            return 0;
        }
        let limit = libm::exp(-lambda.min(30.0));
        let mut product = self.uniform_open0();
        let mut count = 0;
        while product > limit && count < 1_000 {
            product *= self.uniform_open0();
            count += 1;
        }
        count
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        self.uniform() < p
    }

    /// Uniform index in `0..n` (`n > 0`). The tiny modulo bias of 64 random bits
    /// is irrelevant for picking templates and symbols.
    pub fn index(&mut self, n: usize) -> usize {
        debug_assert!(n > 0);
        (self.rng.next_u64() % n.max(1) as u64) as usize
    }

    /// Uniform integer in `lo..=hi`.
    pub fn range_i64(&mut self, lo: i64, hi: i64) -> i64 {
        lo + self.index((hi - lo + 1).max(1) as usize) as i64
    }

    /// An index drawn with the given (non-negative) weights.
    pub fn weighted(&mut self, weights: &[f64]) -> usize {
        let total: f64 = weights.iter().sum();
        let mut x = self.uniform() * total;
        for (i, w) in weights.iter().enumerate() {
            if x < *w {
                return i;
            }
            x -= w;
        }
        weights.len().saturating_sub(1)
    }

    /// A random element of a non-empty slice.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.index(items.len())]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_numbers_and_streams_differ() {
        let mut a = Noise::new(7, Stream::Prices);
        let mut b = Noise::new(7, Stream::Prices);
        let mut c = Noise::new(7, Stream::News);
        let xs: Vec<f64> = (0..16).map(|_| a.normal()).collect();
        let ys: Vec<f64> = (0..16).map(|_| b.normal()).collect();
        let zs: Vec<f64> = (0..16).map(|_| c.normal()).collect();
        assert_eq!(xs, ys);
        assert_ne!(xs, zs);
    }

    #[test]
    fn samplers_have_the_right_moments() {
        let mut n = Noise::new(1, Stream::Prices);
        let count = 40_000;
        let zs: Vec<f64> = (0..count).map(|_| n.normal()).collect();
        let mean = zs.iter().sum::<f64>() / count as f64;
        let var = zs.iter().map(|z| (z - mean) * (z - mean)).sum::<f64>() / count as f64;
        assert!(mean.abs() < 0.03, "normal mean {mean}");
        assert!((var - 1.0).abs() < 0.04, "normal variance {var}");

        let ps: Vec<u32> = (0..count).map(|_| n.poisson(0.7)).collect();
        let pm = ps.iter().map(|&k| k as f64).sum::<f64>() / count as f64;
        assert!((pm - 0.7).abs() < 0.03, "poisson mean {pm}");

        let us: Vec<f64> = (0..count).map(|_| n.uniform()).collect();
        assert!(us.iter().all(|u| (0.0..1.0).contains(u)));
    }
}
