//! Which image textures to free: those not drawn for a while, and the least
//! recently drawn while all of them together are over a memory budget. A
//! freed image is decoded again when it is drawn again, so memory stays
//! bounded however many images a notebook has.

#[derive(Debug, Clone, Copy)]
pub struct Budget {
    /// Bytes of texture (RGBA) kept at most, beyond what one frame draws.
    pub max_bytes: usize,
    /// Frames a texture may go undrawn before it is freed.
    pub idle_frames: u64,
}

impl Default for Budget {
    fn default() -> Self {
        Budget {
            max_bytes: 128 * 1024 * 1024,
            idle_frames: 600,
        }
    }
}

/// A texture held: its key, the frame it was last drawn in, its bytes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Held {
    pub key: u64,
    pub last_drawn: u64,
    pub bytes: usize,
}

/// The keys to free at frame `now`. What was drawn in this frame is never
/// freed, even over budget: it is on screen.
pub fn to_free(held: &[Held], now: u64, budget: Budget) -> Vec<u64> {
    let mut free = Vec::new();
    let mut kept: Vec<Held> = Vec::with_capacity(held.len());
    for h in held {
        if now.saturating_sub(h.last_drawn) > budget.idle_frames {
            free.push(h.key);
        } else {
            kept.push(*h);
        }
    }
    let mut total: usize = kept.iter().map(|h| h.bytes).sum();
    if total > budget.max_bytes {
        kept.sort_by_key(|h| h.last_drawn);
        for h in kept {
            if total <= budget.max_bytes || h.last_drawn >= now {
                break;
            }
            total -= h.bytes;
            free.push(h.key);
        }
    }
    free
}

#[cfg(test)]
mod tests {
    use super::*;

    fn held(key: u64, last_drawn: u64, bytes: usize) -> Held {
        Held { key, last_drawn, bytes }
    }

    #[test]
    fn idle_textures_are_freed_whatever_the_budget() {
        let budget = Budget {
            max_bytes: usize::MAX,
            idle_frames: 10,
        };
        let free = to_free(&[held(1, 0, 1), held(2, 95, 1), held(3, 100, 1)], 100, budget);
        assert_eq!(free, vec![1]);
    }

    #[test]
    fn over_budget_the_least_recently_drawn_go_first_but_never_the_visible() {
        let budget = Budget {
            max_bytes: 250,
            idle_frames: 1000,
        };
        let all = [held(1, 50, 100), held(2, 10, 100), held(3, 100, 100), held(4, 90, 100)];
        let mut free = to_free(&all, 100, budget);
        free.sort();
        assert_eq!(free, vec![1, 2], "400 bytes held: the two oldest go");
        // Everything on screen now: nothing can go, even over budget.
        let visible = [held(1, 100, 200), held(2, 100, 200)];
        assert!(to_free(&visible, 100, budget).is_empty());
    }

    #[test]
    fn two_hundred_images_stay_within_the_budget() {
        let image = 1280 * 960 * 4;
        let budget = Budget {
            max_bytes: 64 * image,
            idle_frames: 10_000,
        };
        // Scrolled through: image i last drawn at frame i.
        let all: Vec<Held> = (0..200).map(|i| held(i, i, image)).collect();
        let free = to_free(&all, 199, budget);
        assert_eq!(free.len(), 200 - 64);
        assert!(free.iter().all(|k| *k < 136), "the oldest are freed");
    }
}
