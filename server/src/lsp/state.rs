//! State shared by the ordered sync layer and every handler.
//!
//! **Architecture invariant:** every lock here is a `std::sync::Mutex`/`RwLock` held for a short,
//! synchronous section; none is ever held across an `.await`.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard, RwLock};

use tower_lsp_server::Client;

use super::encoding::PositionEncoding;
use super::ext::{Stats, StatusState};
use crate::completion::cache::CompletionCache;
use crate::completion::inflight::{InFlight, Ticket};
use crate::completion::suggestions::SuggestionRegistry;
use crate::config::ServerConfig;
use crate::documents::DocumentStore;
use crate::feedback::FeedbackSink;
use crate::model::worker::{ModelState, ModelWorker, not_ready_reason};

/// Keys held by the completion cache.
const CACHE_CAPACITY: usize = 4096;
/// Suggestions remembered for feedback and speculation.
const SUGGESTION_CAPACITY: usize = 1024;

/// Everything the server knows.
pub struct Shared {
    /// Talks back to the editor.
    pub client: Client,
    /// Open documents.
    pub documents: DocumentStore,
    /// In-flight requests per document.
    pub in_flight: InFlight,
    /// Tickets handed out by the sync layer, waiting for their handler (by arrival number).
    pub tickets: Mutex<HashMap<u64, Ticket>>,
    /// Cached suggestions.
    pub cache: Mutex<CompletionCache>,
    /// Suggestions shown, by id.
    pub suggestions: SuggestionRegistry,
    /// Where feedback goes (through the adaptation's sink, then the store).
    pub feedback: Box<dyn FeedbackSink>,
    /// What the adaptation learnt (used on the model thread; see `crate::adapt`).
    pub adaptation: std::sync::Arc<Mutex<crate::adapt::Adaptation>>,
    /// Feeds the adaptation (memory and store) with written text; resets it.
    pub learner: crate::adapt::Learner,
    /// The `adapt` setting, shared with the adaptation's feedback sink.
    pub adapt_enabled: std::sync::Arc<AtomicBool>,
    /// The model thread.
    pub worker: ModelWorker,
    /// Counters for `ghostline/stats`.
    pub stats: Mutex<Stats>,
    /// Negotiated at `initialize`.
    encoding: RwLock<PositionEncoding>,
    /// Current settings.
    config: RwLock<ServerConfig>,
    /// `initialize` has been answered.
    pub initialized: AtomicBool,
    /// The client accepts `window/workDoneProgress/create`.
    pub client_supports_progress: AtomicBool,
    /// Settings warnings from `initialize`, shown once the client can receive messages.
    pub pending_warnings: Mutex<Vec<String>>,
    /// The workspace index (root, watchers, the index thread).
    pub index: super::workspace_index::IndexSlot,
}

impl Shared {
    /// New state around `client` and a model thread.
    pub fn new(client: Client, worker: ModelWorker, feedback: Box<dyn FeedbackSink>) -> Shared {
        let adaptation = crate::adapt::Adaptation::new();
        let adapt_enabled = std::sync::Arc::new(AtomicBool::new(ServerConfig::default().adapt));
        let sink = crate::adapt::AdaptationSink::new(
            adaptation.inbox(),
            feedback,
            adapt_enabled.clone(),
        );
        let learner = sink.learner();
        let feedback: Box<dyn FeedbackSink> = Box::new(sink);
        Shared {
            adaptation: std::sync::Arc::new(Mutex::new(adaptation)),
            learner,
            adapt_enabled,
            client,
            documents: DocumentStore::default(),
            in_flight: InFlight::default(),
            tickets: Mutex::new(HashMap::new()),
            cache: Mutex::new(CompletionCache::new(CACHE_CAPACITY)),
            suggestions: SuggestionRegistry::new(SUGGESTION_CAPACITY),
            feedback,
            worker,
            stats: Mutex::new(Stats::default()),
            encoding: RwLock::new(PositionEncoding::default()),
            config: RwLock::new(ServerConfig::default()),
            initialized: AtomicBool::new(false),
            client_supports_progress: AtomicBool::new(false),
            pending_warnings: Mutex::new(Vec::new()),
            index: Default::default(),
        }
    }

    /// The negotiated position encoding.
    pub fn encoding(&self) -> PositionEncoding {
        *self.encoding.read().unwrap_or_else(|p| p.into_inner())
    }

    /// Sets the position encoding (at `initialize`).
    pub fn set_encoding(&self, encoding: PositionEncoding) {
        *self.encoding.write().unwrap_or_else(|p| p.into_inner()) = encoding;
    }

    /// A copy of the settings.
    pub fn config(&self) -> ServerConfig {
        self.config
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Replaces the settings.
    pub fn set_config(&self, config: ServerConfig) {
        self.adapt_enabled.store(config.adapt, std::sync::atomic::Ordering::Relaxed);
        *self.config.write().unwrap_or_else(|p| p.into_inner()) = config;
    }

    /// Locks the counters.
    pub fn stats(&self) -> MutexGuard<'_, Stats> {
        self.stats.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Locks the cache.
    pub fn cache(&self) -> MutexGuard<'_, CompletionCache> {
        self.cache.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Takes the ticket the sync layer made for arrival number `seq`.
    pub fn take_ticket(&self, seq: u64) -> Option<Ticket> {
        self.tickets
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&seq)
    }

    /// Whether `initialize` has been answered.
    pub fn is_initialized(&self) -> bool {
        self.initialized.load(Ordering::SeqCst)
    }

    /// The status an editor should show now, with its sentence.
    pub fn status(&self) -> (StatusState, String, Option<(String, String)>) {
        if !self.config().enable {
            return (
                StatusState::Disabled,
                "ghostline is disabled in the settings".to_string(),
                None,
            );
        }
        match self.worker.state() {
            ModelState::Ready {
                info,
                health: Some(degradation),
            } => (
                // Suggestions still come when the local fallback answers.
                if degradation.fallback_active {
                    StatusState::Ready
                } else {
                    StatusState::Error
                },
                degradation.message,
                Some((info.name, info.device)),
            ),
            ModelState::Ready { info, health: None } => (
                StatusState::Ready,
                format!("model {} ready on {}", info.name, info.device),
                Some((info.name, info.device)),
            ),
            ModelState::Loading { description } => (
                StatusState::Loading,
                format!("loading the model ({description})"),
                None,
            ),
            state @ ModelState::NotLoaded => (StatusState::Loading, not_ready_reason(&state), None),
            ModelState::Failed { message } => (
                StatusState::Error,
                format!("no suggestions: the model failed to load: {message}"),
                None,
            ),
        }
    }
}
