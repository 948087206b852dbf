//! Locking shared state.

use std::sync::{Mutex, MutexGuard};

/// Locks `mutex`, also after a panic elsewhere while it was held. Lockwatch's shared state is plain data
/// changed in whole assignments, so a poisoned lock still holds usable data, and one panicked task must
/// not take down every other user of the state.
pub fn guard<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
