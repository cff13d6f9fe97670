//! The dedicated model thread: owns the one `CompletionModel`, loads it, and runs jobs on it one
//! at a time, away from the tokio workers.
//!
//! **Architecture invariant:** the model is touched only on this thread; a panicking job answers
//! its caller with [`WorkerError::Panicked`] and the thread keeps serving.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::mpsc;

use tokio::sync::{oneshot, watch};

use super::{CompletionModel, Degradation, ModelInfo, ModelLoader, ModelSpec};

/// Where the model is in its life.
#[derive(Clone, Debug)]
pub enum ModelState {
    /// No load was requested yet.
    NotLoaded,
    /// A load is running.
    Loading {
        /// What is being loaded.
        description: String,
    },
    /// Ready to generate.
    Ready {
        /// What was loaded.
        info: ModelInfo,
        /// Set while the model is degraded (a remote endpoint that fails).
        health: Option<Degradation>,
    },
    /// The last load failed; the server keeps running without a model.
    Failed {
        /// Why, naming the file or setting at fault.
        message: String,
    },
}

/// Errors from running a job on the model thread.
#[derive(Debug, thiserror::Error)]
pub enum WorkerError {
    /// There is no usable model.
    #[error("no model is loaded: {reason}")]
    NotReady {
        /// Why (loading, failed load with its message).
        reason: String,
    },
    /// The job panicked; the model thread survived.
    #[error("the model job panicked: {message}")]
    Panicked {
        /// The panic payload, when it was a string.
        message: String,
    },
    /// The model thread is gone.
    #[error("the model thread has stopped")]
    Stopped,
}

type Job = Box<dyn FnOnce(Option<&mut (dyn CompletionModel + 'static)>) + Send>;

enum WorkerCommand {
    Load(ModelSpec),
    Run(Job),
}

/// Handle to the model thread; cheap to clone.
#[derive(Clone)]
pub struct ModelWorker {
    commands: mpsc::Sender<WorkerCommand>,
    /// Jobs submitted and not yet finished (a gauge for `ghostline/stats` and the load test).
    queued: Arc<std::sync::atomic::AtomicUsize>,
    state: watch::Receiver<ModelState>,
    state_sender: Arc<watch::Sender<ModelState>>,
}

impl ModelWorker {
    /// Starts the model thread. No model is loaded until [`ModelWorker::load`].
    pub fn spawn(loader: ModelLoader) -> ModelWorker {
        let (commands, receiver) = mpsc::channel::<WorkerCommand>();
        let (state_sender, state) = watch::channel(ModelState::NotLoaded);
        let state_sender = Arc::new(state_sender);
        let thread_state = state_sender.clone();
        std::thread::Builder::new()
            .name("ghostline-model".to_string())
            .spawn(move || model_thread_main(loader, receiver, thread_state))
            .expect("spawning the model thread");
        ModelWorker {
            commands,
            queued: Arc::default(),
            state,
            state_sender,
        }
    }

    /// Queues a (re)load of the model; the state turns to `Loading` at once.
    pub fn load(&self, spec: ModelSpec) {
        self.state_sender.send_replace(ModelState::Loading {
            description: spec.describe(),
        });
        if self.commands.send(WorkerCommand::Load(spec)).is_err() {
            self.state_sender.send_replace(ModelState::Failed {
                message: "the model thread has stopped".to_string(),
            });
        }
    }

    /// The current state.
    pub fn state(&self) -> ModelState {
        self.state.borrow().clone()
    }

    /// Jobs waiting for or running on the model thread now.
    pub fn queued_jobs(&self) -> usize {
        self.queued.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// A receiver that sees every state change.
    pub fn subscribe(&self) -> watch::Receiver<ModelState> {
        self.state.clone()
    }

    /// Runs `job` on the model thread with the loaded model and waits (asynchronously) for it.
    pub async fn run<R, F>(&self, job: F) -> Result<R, WorkerError>
    where
        R: Send + 'static,
        F: FnOnce(&mut dyn CompletionModel) -> R + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        self.submit(job, reply)?;
        answer.await.map_err(|_| WorkerError::Stopped)?
    }

    /// Runs `job` on the model thread and blocks the calling (non-async) thread until it is done.
    pub fn run_blocking<R, F>(&self, job: F) -> Result<R, WorkerError>
    where
        R: Send + 'static,
        F: FnOnce(&mut dyn CompletionModel) -> R + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        self.submit(job, reply)?;
        answer.blocking_recv().map_err(|_| WorkerError::Stopped)?
    }

    fn submit<R, F>(
        &self,
        job: F,
        reply: oneshot::Sender<Result<R, WorkerError>>,
    ) -> Result<(), WorkerError>
    where
        R: Send + 'static,
        F: FnOnce(&mut dyn CompletionModel) -> R + Send + 'static,
    {
        let state = self.state.clone();
        let queued = QueuedGuard::new(self.queued.clone());
        let state_sender = self.state_sender.clone();
        let wrapped: Job = Box::new(move |model: Option<&mut (dyn CompletionModel + 'static)>| {
            let _queued = queued;
            let result = match model {
                None => Err(WorkerError::NotReady {
                    reason: not_ready_reason(&state.borrow()),
                }),
                Some(model) => {
                    let result =
                        catch_unwind(AssertUnwindSafe(|| job(&mut *model))).map_err(|payload| {
                            WorkerError::Panicked {
                                message: panic_message(&payload),
                            }
                        });
                    // Before the reply, so the caller already sees the state the job left.
                    publish_health_change(&state_sender, model.health());
                    result
                }
            };
            let _ = reply.send(result);
        });
        self.commands
            .send(WorkerCommand::Run(wrapped))
            .map_err(|_| WorkerError::Stopped)
    }
}

/// Counts a job from submission until it is dropped (run or discarded).
struct QueuedGuard(Arc<std::sync::atomic::AtomicUsize>);

impl QueuedGuard {
    fn new(counter: Arc<std::sync::atomic::AtomicUsize>) -> QueuedGuard {
        counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        QueuedGuard(counter)
    }
}

impl Drop for QueuedGuard {
    fn drop(&mut self) {
        self.0.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
    }
}

/// A human sentence for why there is no model.
pub fn not_ready_reason(state: &ModelState) -> String {
    match state {
        ModelState::NotLoaded => "no model was requested yet".to_string(),
        ModelState::Loading { description } => {
            format!("the model ({description}) is still loading")
        }
        ModelState::Ready { .. } => "the model is ready".to_string(),
        ModelState::Failed { message } => message.clone(),
    }
}

/// Extracts the message of a panic payload.
pub fn panic_message(payload: &Box<dyn std::any::Any + Send>) -> String {
    if let Some(text) = payload.downcast_ref::<&str>() {
        (*text).to_string()
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text.clone()
    } else {
        "non-string panic payload".to_string()
    }
}

/// Publishes a new `Ready` state when the model's health changed during a job.
fn publish_health_change(state: &watch::Sender<ModelState>, health: Option<Degradation>) {
    state.send_if_modified(|current| match current {
        ModelState::Ready {
            health: current_health,
            ..
        } if *current_health != health => {
            match &health {
                Some(degradation) => {
                    tracing::warn!(message = %degradation.message, "model degraded")
                }
                None => tracing::info!("model healthy again"),
            }
            *current_health = health;
            true
        }
        _ => false,
    });
}

fn model_thread_main(
    loader: ModelLoader,
    commands: mpsc::Receiver<WorkerCommand>,
    state: Arc<watch::Sender<ModelState>>,
) {
    let mut model: Option<Box<dyn CompletionModel>> = None;
    while let Ok(command) = commands.recv() {
        match command {
            WorkerCommand::Load(spec) => {
                // Free the old model first: two models at once could exceed memory.
                model = None;
                let started = std::time::Instant::now();
                let loaded = catch_unwind(AssertUnwindSafe(|| loader(&spec)));
                match loaded {
                    Ok(Ok(loaded)) => {
                        let info = loaded.info();
                        tracing::info!(
                            model = %info.name, device = %info.device,
                            load_ms = started.elapsed().as_millis() as u64, "model loaded"
                        );
                        let health = loaded.health();
                        model = Some(loaded);
                        state.send_replace(ModelState::Ready { info, health });
                    }
                    Ok(Err(error)) => {
                        tracing::error!(%error, "model load failed; serving without a model");
                        state.send_replace(ModelState::Failed {
                            message: error.to_string(),
                        });
                    }
                    Err(payload) => {
                        let message = format!("model load panicked: {}", panic_message(&payload));
                        tracing::error!(%message, "serving without a model");
                        state.send_replace(ModelState::Failed { message });
                    }
                }
            }
            WorkerCommand::Run(job) => job(model.as_deref_mut()),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;
    use std::time::{Duration, Instant};

    use super::*;
    use crate::model::{CancelFlag, GenerateOutput, GenerateRequest, ModelCallError};

    /// A model whose health the test sets (a remote endpoint going down and up).
    struct Flaky(Arc<Mutex<Option<Degradation>>>);

    impl CompletionModel for Flaky {
        fn generate(
            &mut self,
            _: &GenerateRequest,
            _: &CancelFlag,
            _: &mut dyn FnMut(&str),
        ) -> Result<GenerateOutput, ModelCallError> {
            Err(ModelCallError::Generation {
                message: "not used".to_string(),
            })
        }

        fn info(&self) -> ModelInfo {
            ModelInfo {
                name: "flaky".to_string(),
                n_params: 0,
                device: "test".to_string(),
                context_length: 64,
                fim: false,
            }
        }

        fn count_tokens(&self, text: &str) -> usize {
            text.len()
        }

        fn health(&self) -> Option<Degradation> {
            self.0.lock().unwrap().clone()
        }
    }

    fn health_of(worker: &ModelWorker) -> Option<Option<Degradation>> {
        match worker.state() {
            ModelState::Ready { health, .. } => Some(health),
            _ => None,
        }
    }

    #[test]
    fn health_changes_are_published_before_the_job_answers() {
        let down = Degradation {
            message: "remote endpoint x is unreachable".to_string(),
            fallback_active: false,
        };
        let health = Arc::new(Mutex::new(Some(down.clone())));
        let model_health = health.clone();
        let worker = ModelWorker::spawn(Box::new(move |_| {
            Ok(Box::new(Flaky(model_health.clone())) as Box<dyn CompletionModel>)
        }));
        worker.load(ModelSpec::default());
        let deadline = Instant::now() + Duration::from_secs(10);
        while health_of(&worker).is_none() {
            assert!(Instant::now() < deadline, "the model never became ready");
            std::thread::sleep(Duration::from_millis(1));
        }
        assert_eq!(
            health_of(&worker),
            Some(Some(down.clone())),
            "degraded at load"
        );

        *health.lock().unwrap() = None;
        worker.run_blocking(|_| ()).unwrap();
        assert_eq!(
            health_of(&worker),
            Some(None),
            "recovered: seen as soon as the job answers"
        );

        let fallback = Degradation {
            fallback_active: true,
            ..down
        };
        *health.lock().unwrap() = Some(fallback.clone());
        worker.run_blocking(|_| ()).unwrap();
        assert_eq!(health_of(&worker), Some(Some(fallback)));
    }
}
