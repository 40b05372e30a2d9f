//! Wall-clock time from a monotonic reading the caller already took: each thread reads the
//! pair (`Instant`, `SystemTime`) at most once a second and adds the monotonic offset to it.
//! The per-call path (token expiry, the access line's timestamp) then reads the clock once
//! per call instead of once per use. A result may differ from `SystemTime::now()` by the wall
//! clock's slew within that second (microseconds) or, after the wall clock is stepped, by
//! the step until the next re-read (at most a second later).

use std::{
    cell::Cell,
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

const REBASE: Duration = Duration::from_secs(1);

/// The wall-clock time of the monotonic instant `at` (a recent one).
pub(crate) fn wall_time(at: Instant) -> SystemTime {
    thread_local! {
        static BASE: Cell<Option<(Instant, SystemTime)>> = const { Cell::new(None) };
    }
    BASE.with(|base| {
        let (i, s) = match base.get() {
            Some((i, s)) if at.saturating_duration_since(i) < REBASE => (i, s),
            _ => {
                let fresh = (Instant::now(), SystemTime::now());
                base.set(Some(fresh));
                fresh
            }
        };
        match at.checked_duration_since(i) {
            Some(ahead) => s + ahead,
            None => s.checked_sub(i - at).unwrap_or(s),
        }
    })
}

/// [`wall_time`] in whole seconds since the Unix epoch.
pub(crate) fn unix_secs(at: Instant) -> u64 {
    wall_time(at)
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: SystemTime, b: SystemTime, within: Duration) -> bool {
        a.duration_since(b).unwrap_or_else(|e| e.duration()) <= within
    }

    #[test]
    fn follows_the_wall_clock_across_rebases() {
        let slack = Duration::from_millis(50);
        for _ in 0..3 {
            let now = Instant::now();
            assert!(close(wall_time(now), SystemTime::now(), slack));
            // An instant a little in the past maps to a wall time as far in the past.
            let past = now - Duration::from_millis(300);
            let d = wall_time(now).duration_since(wall_time(past)).unwrap();
            assert!(
                d >= Duration::from_millis(299) && d <= Duration::from_millis(301),
                "{d:?}"
            );
            std::thread::sleep(Duration::from_millis(600));
        }
        let secs = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs();
        assert!(unix_secs(Instant::now()).abs_diff(secs) <= 1);
    }
}
