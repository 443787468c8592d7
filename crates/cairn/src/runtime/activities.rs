//! Activity task dispatch: GetActivityTask long polls.
//!
//! Tasks are durable rows (FIFO per activity) written by the writer's commit. A poller asks
//! the writer to claim one (the claim and its `ActivityStarted` commit together); if none is
//! queued it parks on the activity's `Notify` until the writer commits a new task (`wake`)
//! or its wait runs out. No busy polling: a parked poller costs a future and nothing else.
//!
//! A poll checks that the activity exists; one found in the store is taken on trust for
//! [`ACTIVITY_SEEN_FOR`] (a DeleteActivity on this node forgets it at once; one on another
//! node sharing the database is noticed up to that much later), so a busy activity costs one
//! store read a second instead of one blocking-pool hand-off per poll.

use super::Engine;
use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::Notify;

/// AWS's limit of concurrent pollers per activity ARN.
pub const MAX_POLLERS: usize = 1000;

#[derive(Default)]
pub struct ActivityQueue {
    notify: Notify,
    pollers: AtomicUsize,
    /// When a worker last called GetActivityTask here, epoch ms (0: not since start-up).
    last_poll_ms: AtomicI64,
    /// When a poll last found the activity in the store.
    seen: Mutex<Option<Instant>>,
}

/// How long an activity found in the store is taken on trust by later polls.
pub const ACTIVITY_SEEN_FOR: Duration = Duration::from_secs(1);

#[derive(Default)]
pub struct Dispatch {
    queues: Mutex<HashMap<String, Arc<ActivityQueue>>>,
    /// Activities this process serves itself (`cairn run --activity`): their queued tasks
    /// are as good as taken for the virtual clock.
    served: Mutex<std::collections::HashSet<String>>,
}

impl Dispatch {
    /// Record that a worker of this process serves the activity.
    pub fn serve(&self, activity_arn: &str) {
        self.served
            .lock()
            .expect("dispatch lock")
            .insert(activity_arn.to_string());
    }

    /// Whether a queued task of this activity is about to be taken: a poller is parked on
    /// it, or this process serves it. Such a task holds a virtual clock.
    pub fn about_to_take(&self, activity_arn: &str) -> bool {
        if self
            .served
            .lock()
            .expect("dispatch lock")
            .contains(activity_arn)
        {
            return true;
        }
        self.queues
            .lock()
            .expect("dispatch lock")
            .get(activity_arn)
            .is_some_and(|q| q.pollers.load(Ordering::SeqCst) > 0)
    }

    /// The activity's queue, if a poll found the activity in the store less than
    /// [`ACTIVITY_SEEN_FOR`] ago.
    fn seen(&self, activity_arn: &str) -> Option<Arc<ActivityQueue>> {
        let queue = self
            .queues
            .lock()
            .expect("dispatch lock")
            .get(activity_arn)
            .cloned()?;
        let seen = *queue.seen.lock().expect("dispatch lock");
        seen.is_some_and(|at| at.elapsed() < ACTIVITY_SEEN_FOR)
            .then_some(queue)
    }

    /// The activity was deleted: the next poll looks in the store again.
    pub fn forget(&self, activity_arn: &str) {
        let queue = self
            .queues
            .lock()
            .expect("dispatch lock")
            .get(activity_arn)
            .cloned();
        if let Some(q) = queue {
            *q.seen.lock().expect("dispatch lock") = None;
        }
    }

    fn queue(&self, activity_arn: &str) -> Arc<ActivityQueue> {
        let mut queues = self.queues.lock().expect("dispatch lock");
        queues.entry(activity_arn.to_string()).or_default().clone()
    }

    /// Workers parked on this activity now, and when one last polled it (epoch ms), as this
    /// node saw them (a console figure, not a durable one).
    pub fn pollers(&self, activity_arn: &str) -> (usize, Option<i64>) {
        let queue = self
            .queues
            .lock()
            .expect("dispatch lock")
            .get(activity_arn)
            .cloned();
        match queue {
            Some(q) => {
                let last = q.last_poll_ms.load(Ordering::SeqCst);
                (q.pollers.load(Ordering::SeqCst), (last > 0).then_some(last))
            }
            None => (0, None),
        }
    }

    /// A task for this activity was committed: wake one parked poller.
    pub fn wake(&self, activity_arn: &str) {
        let queue = self
            .queues
            .lock()
            .expect("dispatch lock")
            .get(activity_arn)
            .cloned();
        if let Some(q) = queue {
            q.notify.notify_one();
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PollError {
    #[error("Activity Does Not Exist: '{0}'")]
    ActivityDoesNotExist(String),
    #[error(
        "The maximum number of workers concurrently polling for activity tasks has been reached."
    )]
    WorkerLimitExceeded,
    #[error(transparent)]
    Engine(#[from] super::EngineError),
}

struct PollerSlot(Arc<ActivityQueue>);
impl Drop for PollerSlot {
    fn drop(&mut self) {
        self.0.pollers.fetch_sub(1, Ordering::SeqCst);
    }
}

pub async fn poll(
    engine: &Engine,
    activity_arn: &str,
    worker_name: Option<String>,
    wait: Duration,
) -> Result<Option<super::ActivityTask>, PollError> {
    let queue = match engine.dispatch.seen(activity_arn) {
        Some(queue) => queue,
        None => {
            // On the blocking pool: the store may block on its disk or the network.
            let arn = activity_arn.to_string();
            if super::on_store(&engine.store, move |s| s.get_activity(&arn))
                .await?
                .is_none()
            {
                return Err(PollError::ActivityDoesNotExist(activity_arn.to_string()));
            }
            let queue = engine.dispatch.queue(activity_arn);
            *queue.seen.lock().expect("dispatch lock") = Some(Instant::now());
            queue
        }
    };
    if queue.pollers.fetch_add(1, Ordering::SeqCst) >= MAX_POLLERS {
        queue.pollers.fetch_sub(1, Ordering::SeqCst);
        return Err(PollError::WorkerLimitExceeded);
    }
    let _slot = PollerSlot(queue.clone());
    queue
        .last_poll_ms
        .store(crate::api::now_ms(), Ordering::SeqCst);
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        // Register interest before looking, so a task committed in between still wakes us.
        let notified = queue.notify.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        if let Some(task) = engine.claim(activity_arn, worker_name.clone()).await? {
            return Ok(Some(task));
        }
        // On a shared store, look again now and then: a lapsed claim wakes nobody.
        let until = if engine.ownership.is_cluster() {
            deadline.min(tokio::time::Instant::now() + super::SHARED_QUEUE_RECHECK)
        } else {
            deadline
        };
        if tokio::time::timeout_at(until, notified).await.is_err()
            && tokio::time::Instant::now() >= deadline
        {
            return Ok(None);
        }
    }
}
