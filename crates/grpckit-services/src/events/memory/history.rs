//! A topic's replay history, bounded by count, bytes and age. The process-wide byte budget
//! is the bus's job: every method here reports the bytes it freed or took.

use std::{collections::VecDeque, time::Duration};

use tokio::time::Instant;

use crate::events::Event;

/// Per-topic bounds.
#[derive(Debug, Clone, Copy)]
pub(super) struct Bounds {
    /// Most events kept.
    pub(super) count: usize,
    /// Most bytes kept.
    pub(super) bytes: usize,
    /// How long an event stays.
    pub(super) window: Duration,
}

#[derive(Debug)]
struct Entry {
    at: Instant,
    size: usize,
    event: Event,
}

/// Retained events, oldest first.
#[derive(Debug, Default)]
pub(super) struct History {
    entries: VecDeque<Entry>,
    bytes: usize,
}

impl History {
    /// Whether nothing is held.
    pub(super) fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Drops events older than the window; returns the bytes freed.
    pub(super) fn expire(&mut self, now: Instant, window: Duration) -> usize {
        let mut freed = 0;
        while let Some(e) = self.entries.front() {
            if now.saturating_duration_since(e.at) < window {
                break;
            }
            freed += self.pop_front();
        }
        freed
    }

    /// Drops the oldest events until one of `size` bytes fits the bounds; returns the bytes
    /// freed. The caller checks first that `size` alone fits.
    pub(super) fn make_room(&mut self, size: usize, b: Bounds) -> usize {
        let mut freed = 0;
        while !self.entries.is_empty()
            && (self.entries.len() >= b.count || self.bytes + size > b.bytes)
        {
            freed += self.pop_front();
        }
        freed
    }

    /// Appends an event already accounted for.
    pub(super) fn push(&mut self, event: Event, size: usize, at: Instant) {
        // Most topics hold one or two events: start with room for one, not the default four.
        if self.entries.capacity() == 0 {
            self.entries.reserve_exact(1);
        }
        self.bytes += size;
        self.entries.push_back(Entry { at, size, event });
    }

    /// Up to `n` newest events still inside the window, oldest first.
    pub(super) fn recent(&self, n: usize, now: Instant, window: Duration) -> Vec<Event> {
        let live = self
            .entries
            .iter()
            .filter(|e| now.saturating_duration_since(e.at) < window);
        let count = live.clone().count();
        live.skip(count.saturating_sub(n))
            .map(|e| e.event.clone())
            .collect()
    }

    fn pop_front(&mut self) -> usize {
        let size = self.entries.pop_front().map_or(0, |e| e.size);
        self.bytes -= size;
        size
    }
}
