//! Window statistics of a probe: request and error counts, error rate, nearest-rank percentiles.

use super::Sample;

/// A probe's numbers over its window.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Stats {
    pub requests: usize,
    /// Requests that count as errors ([`Sample::is_error`]).
    pub errors: usize,
    /// Percent of requests that were errors (`12.5` for 12.5 %); 0 without requests.
    pub error_rate: f64,
    pub p50_ms: u64,
    pub p95_ms: u64,
    pub p99_ms: u64,
    pub max_ms: u64,
}

impl Stats {
    /// The statistics of `samples`. Latency percentiles are taken over every request, failed
    /// ones included (a timeout's latency is the time it took to give up).
    pub fn of<'a>(samples: impl IntoIterator<Item = &'a Sample>) -> Stats {
        let mut latencies = Vec::new();
        let mut errors = 0;
        for s in samples {
            latencies.push(s.latency_ms);
            errors += usize::from(s.is_error());
        }
        Stats::from_parts(latencies, errors)
    }

    /// The statistics of raw latencies and an error count.
    pub fn from_parts(mut latencies: Vec<u64>, errors: usize) -> Stats {
        latencies.sort_unstable();
        let requests = latencies.len();
        let error_rate = if requests == 0 {
            0.0
        } else {
            errors as f64 * 100.0 / requests as f64
        };
        Stats {
            requests,
            errors,
            error_rate,
            p50_ms: percentile(&latencies, 50),
            p95_ms: percentile(&latencies, 95),
            p99_ms: percentile(&latencies, 99),
            max_ms: latencies.last().copied().unwrap_or(0),
        }
    }

    /// The value of percentile `p` (50, 95 or 99).
    pub fn at(&self, p: u32) -> u64 {
        match p {
            50 => self.p50_ms,
            95 => self.p95_ms,
            _ => self.p99_ms,
        }
    }
}

/// The `p`-th percentile of `sorted` (ascending) by the nearest-rank method: with `n` values
/// `x₁ ≤ … ≤ xₙ` it is `x_k` where `k = ⌈p·n / 100⌉`, at least 1 — always one of the values,
/// never interpolated. Latencies 1..=100 give p50 = 50, p95 = 95, p99 = 99; one value is every
/// percentile; an empty slice gives 0.
pub fn percentile(sorted: &[u64], p: u32) -> u64 {
    let n = sorted.len();
    if n == 0 {
        return 0;
    }
    let k = (p as usize * n).div_ceil(100).clamp(1, n);
    sorted[k - 1]
}

/// A percentage for humans: `12%`, `3.3%`, `0.5%` (one decimal, dropped when it is zero).
pub fn percent(v: f64) -> String {
    let tenths = (v * 10.0).round();
    if tenths % 10.0 == 0.0 {
        format!("{:.0}%", tenths / 10.0)
    } else {
        format!("{:.1}%", tenths / 10.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank() {
        let v: Vec<u64> = (1..=100).collect();
        assert_eq!(
            (percentile(&v, 50), percentile(&v, 95), percentile(&v, 99)),
            (50, 95, 99)
        );
        assert_eq!(percentile(&[7], 99), 7);
        assert_eq!(percentile(&[], 50), 0);
        assert_eq!(percentile(&[1, 2, 3], 50), 2);
        assert_eq!(percentile(&[1, 2, 3, 4], 50), 2);
        assert_eq!(percent(12.0), "12%");
        assert_eq!(percent(100.0 / 30.0), "3.3%");
        assert_eq!(percent(0.0), "0%");
    }
}
