//! What the build is doing, said as it starts each step, and how long each step took.
//!
//! Every step begins with a line `==> build: …` on stderr: the same marker `scripts/setup.sh`
//! uses, which `scripts/first-run.sh` reads to say where a first run's time went. The summary
//! at the end names every step with its duration, so a slow build says why.

use std::time::{Duration, Instant};

/// The durations of the steps taken so far, since the timings were made.
pub struct Timings {
    steps: Vec<(String, Duration)>,
    started: Instant,
}

impl Default for Timings {
    fn default() -> Self {
        Timings {
            steps: Vec::new(),
            started: Instant::now(),
        }
    }
}

impl Timings {
    /// Announces a step and returns it; `finish` records how long it took.
    pub fn begin(&mut self, what: &str) -> Step {
        eprintln!("==> build: {what}");
        Step {
            what: what.to_string(),
            started: Instant::now(),
        }
    }

    /// Records a step's duration.
    pub fn finish(&mut self, step: Step) {
        self.steps.push((step.what, step.started.elapsed()));
    }

    /// Takes in the steps of a line of work that ran beside this one, each named with `lane`.
    pub fn absorb(&mut self, lane: &str, other: Timings) {
        for (what, took) in other.steps {
            self.steps.push((format!("{lane}: {what}"), took));
        }
    }

    /// One line per step, then the total (less than the sum when lines of work ran at once).
    pub fn summary(&self) -> String {
        let mut text = String::from("build: where the time went\n");
        for (what, took) in &self.steps {
            text.push_str(&format!("  {:>9}  {what}\n", human(*took)));
        }
        let total = self.started.elapsed();
        text.push_str(&format!("  {:>9}  in all", human(total)));
        text
    }
}

/// A step under way.
pub struct Step {
    what: String,
    started: Instant,
}

/// `2 min 05 s`, `12.4 s`, `0.3 s`.
pub fn human(took: Duration) -> String {
    let secs = took.as_secs_f64();
    if secs >= 60.0 {
        let whole = secs.round() as u64;
        format!("{} min {:02} s", whole / 60, whole % 60)
    } else {
        format!("{secs:.1} s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_as_a_person_would_say_them() {
        assert_eq!(human(Duration::from_millis(340)), "0.3 s");
        assert_eq!(human(Duration::from_secs_f64(12.44)), "12.4 s");
        assert_eq!(human(Duration::from_secs(125)), "2 min 05 s");
    }
}
