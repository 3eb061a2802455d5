//! Where prompts come from: `mediaInfo.uri` fetched over http(s) (see [`super::fetch`]),
//! `mediaInfo.resourceId` looked up in the configured prompts folder, and sendDtmfTones keys
//! synthesised. Everything is decoded, resampled and encoded once, off the worker threads, into
//! one shared [`PromptCache`] keyed by URI (a resourceId given with a URI becomes an alias of it,
//! as Graph's `preFetchMedia` cache keys are).

use std::collections::{HashMap, VecDeque};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use switchboard_media::dtmf::Digit;
use switchboard_media::dtmf::generator::{ToneShape, digit_sequence};
use switchboard_media::prompt::PromptError;
use switchboard_media::prompt::tone::{DTMF_LEVEL_DBM0, DTMF_ON_MS};
use switchboard_media::prompt::wav::WavError;
use switchboard_media::{Prompt, PromptCache};

use super::command::PromptFailure;
use super::fetch::{FetchError, PromptFetcher};
use super::settings::PromptSettings;
use crate::calls::result_codes::ResultCode;
use crate::calls::validate::PromptSource;

/// The shared prompt cache with its bookkeeping.
struct Cached {
    cache: PromptCache,
    /// Keys in the order they were added, for dropping the oldest.
    order: VecDeque<String>,
    /// resourceId → the key it names.
    aliases: HashMap<String, String>,
    max: usize,
}

impl Cached {
    fn lookup(&self, source: &PromptSource) -> Option<Arc<Prompt>> {
        if let Some(uri) = &source.uri {
            return self.cache.get(uri);
        }
        let id = source.resource_id.as_deref()?;
        match self.aliases.get(id) {
            Some(key) => self.cache.get(key),
            None => self.cache.get(&resource_key(id)),
        }
    }

    fn added(&mut self, key: &str, alias: Option<&str>) {
        if let Some(id) = alias {
            self.aliases.insert(id.to_owned(), key.to_owned());
        }
        if self.order.iter().any(|k| k == key) {
            return;
        }
        self.order.push_back(key.to_owned());
        while self.order.len() > self.max {
            if let Some(old) = self.order.pop_front() {
                self.cache.remove(&old);
                self.aliases.retain(|_, k| *k != old);
            }
        }
    }
}

fn resource_key(id: &str) -> String {
    format!("resource:{id}")
}

/// Why the prompt library could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PromptLibraryError {
    /// The shared cache (its Opus encoder, the beep) could not be made.
    #[error("prompt cache: {0}")]
    Cache(#[source] PromptError),
    /// The HTTP client for `mediaInfo.uri` could not be made.
    #[error("prompt HTTP client: {0}")]
    HttpClient(#[source] reqwest::Error),
}

/// Why one prompt source gave no prompt: the source, the value and what is allowed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PromptSourceError {
    /// The mediaInfo names neither a URI nor a resource.
    #[error("a mediaInfo needs a uri or a resourceId")]
    NoSource,
    /// Fetching `mediaInfo.uri` failed or was refused.
    #[error(transparent)]
    Fetch(#[from] FetchError),
    /// A resourceId that is not cached cannot name a file in the prompts folder.
    #[error(
        "resourceId '{id}' is not cached and is not a file name; allowed: letters, digits, '.', \
         '_' and '-', naming a file in the prompts folder"
    )]
    NotAFileName {
        /// The `mediaInfo.resourceId` as sent, which has characters a file name may not.
        id: String,
    },
    /// A resourceId that is not cached, and no folder to look it up in.
    #[error(
        "resourceId '{id}' is not a cached prompt, and no prompts folder is configured \
         (media.prompts.dir); give a mediaInfo.uri"
    )]
    NoPromptsFolder {
        /// The `mediaInfo.resourceId` as sent, neither cached nor findable without a folder.
        id: String,
    },
    /// Neither `<id>` nor `<id>.wav` is in the prompts folder.
    #[error(
        "resourceId '{id}' is not cached and the prompts folder has no file '{id}' or '{id}.wav'"
    )]
    NotInFolder {
        /// The `mediaInfo.resourceId` as sent, with no file of that name in `media.prompts.dir`.
        id: String,
    },
    /// The resource's file is over `media.prompts.max_bytes`.
    #[error(
        "{} is {size} bytes; prompts may be at most {max} bytes (media.prompts.max_bytes)",
        .path.display()
    )]
    FileTooLarge {
        /// The file in the prompts folder the resourceId named.
        path: PathBuf,
        /// The file's size on disk, in bytes.
        size: u64,
        /// The most bytes a prompt file may have (`media.prompts.max_bytes`).
        max: u64,
    },
    /// The resource's file cannot be read.
    #[error("reading {}: {source}", .path.display())]
    Read {
        /// The file in the prompts folder the resourceId named.
        path: PathBuf,
        /// What the system said.
        source: std::io::Error,
    },
    /// The file is not audio the cache takes (not WAV, an unsupported format or rate…).
    #[error("'{origin}' is not usable audio: {source}")]
    NotAudio {
        /// The URI or resourceId it came from.
        origin: String,
        /// What is wrong with it.
        source: WavError,
    },
    /// The audio could not be resampled or encoded.
    #[error("'{origin}' could not be prepared: {source}")]
    NotPrepared {
        /// The URI or resourceId it came from.
        origin: String,
        /// What failed.
        source: PromptError,
    },
    /// The encoding task ended without a result (it panicked or the runtime is shutting down).
    #[error("encoding the prompt failed: {0}")]
    Encoding(#[source] tokio::task::JoinError),
}

impl PromptSourceError {
    /// The cache refused the audio from `origin`.
    fn unusable(origin: String, error: PromptError) -> PromptSourceError {
        match error {
            PromptError::Wav { source, .. } => PromptSourceError::NotAudio { origin, source },
            other => PromptSourceError::NotPrepared {
                origin,
                source: other,
            },
        }
    }
}

/// Prompts for every worker: resolving, fetching and caching.
pub struct PromptLibrary {
    cached: Arc<Mutex<Cached>>,
    fetcher: PromptFetcher,
    dir: PathBuf,
    max_bytes: u64,
    beep: Arc<Prompt>,
}

impl std::fmt::Debug for PromptLibrary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PromptLibrary")
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

impl PromptLibrary {
    /// A library with `settings`' folder, limits and cache size.
    pub fn new(settings: &PromptSettings) -> Result<PromptLibrary, PromptLibraryError> {
        let cache = PromptCache::new().map_err(PromptLibraryError::Cache)?;
        let beep = cache.beep();
        Ok(PromptLibrary {
            cached: Arc::new(Mutex::new(Cached {
                cache,
                order: VecDeque::new(),
                aliases: HashMap::new(),
                max: settings.cache_max_prompts,
            })),
            fetcher: PromptFetcher::new(settings).map_err(PromptLibraryError::HttpClient)?,
            dir: settings.dir.clone(),
            max_bytes: settings.max_bytes,
            beep,
        })
    }

    /// The beep a recordResponse with `playBeep` plays before recording (1 kHz, 400 ms).
    pub fn beep(&self) -> Arc<Prompt> {
        self.beep.clone()
    }

    /// Every prompt of `sources` if all are cached, without waiting for the cache's lock (a
    /// prompt being encoded holds it): the path that lets a cached prompt start on the next tick.
    pub fn cached(&self, sources: &[PromptSource]) -> Option<Vec<Arc<Prompt>>> {
        let cached = self.cached.try_lock().ok()?;
        sources.iter().map(|s| cached.lookup(s)).collect()
    }

    /// The keys for `tones` with `delay` between them, if cached (never waits).
    pub fn cached_dtmf(&self, tones: &[Digit], delay: Duration) -> Option<Arc<Prompt>> {
        self.cached
            .try_lock()
            .ok()?
            .cache
            .get(&dtmf_key(tones, delay))
    }

    /// Every prompt of `sources`, in order, fetching and encoding what is not cached. The
    /// failure names the prompt (`prompts[i]`), what was wrong and what is allowed.
    pub async fn resolve(
        &self,
        field: &str,
        sources: &[PromptSource],
    ) -> Result<Vec<Arc<Prompt>>, PromptFailure> {
        let mut prompts = Vec::with_capacity(sources.len());
        for (i, source) in sources.iter().enumerate() {
            let name = if sources.len() == 1 && field != "prompts" {
                field.to_owned()
            } else {
                format!("{field}[{i}]")
            };
            prompts.push(self.resolve_one(source).await.map_err(|error| {
                metrics::counter!(crate::metrics::MEDIA_PROMPT_FAILURES).increment(1);
                PromptFailure {
                    result: ResultCode::MediaUnusable,
                    detail: format!("{name}: {error}"),
                }
            })?);
        }
        Ok(prompts)
    }

    async fn resolve_one(&self, source: &PromptSource) -> Result<Arc<Prompt>, PromptSourceError> {
        if let Some(prompt) = self.lock().lookup(source) {
            return Ok(prompt);
        }
        let (key, bytes) = match (&source.uri, &source.resource_id) {
            (Some(uri), _) => (uri.clone(), self.fetcher.fetch(uri).await?),
            (None, Some(id)) => (resource_key(id), self.read_resource(id).await?),
            (None, None) => return Err(PromptSourceError::NoSource),
        };
        let alias = source.uri.as_ref().and(source.resource_id.clone());
        let cached = self.cached.clone();
        let origin = source
            .uri
            .clone()
            .or_else(|| source.resource_id.clone())
            .unwrap_or_default();
        // Decoding, resampling and encoding cost milliseconds per second of audio: keep it off
        // the async threads as well as off the media workers.
        tokio::task::spawn_blocking(move || {
            let mut cached = cached.lock().unwrap_or_else(|p| p.into_inner());
            let prompt = cached
                .cache
                .load_wav(&key, &bytes)
                .map_err(|e| PromptSourceError::unusable(origin, e))?;
            cached.added(&key, alias.as_deref());
            Ok(prompt)
        })
        .await
        .map_err(PromptSourceError::Encoding)?
    }

    /// The keys as one prompt: each tone [`DTMF_ON_MS`] long at [`DTMF_LEVEL_DBM0`], `delay`
    /// apart, synthesised and encoded once per distinct key string and delay.
    pub async fn dtmf(
        &self,
        tones: &[Digit],
        delay: Duration,
    ) -> Result<Arc<Prompt>, PromptFailure> {
        let key = dtmf_key(tones, delay);
        let cached = self.cached.clone();
        let tones = tones.to_vec();
        let failure = |detail: String| PromptFailure {
            result: ResultCode::OperationMediaFailure,
            detail,
        };
        tokio::task::spawn_blocking(move || {
            let mut cached = cached.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(prompt) = cached.cache.get(&key) {
                return Ok(prompt);
            }
            let shape = ToneShape::at_level(DTMF_LEVEL_DBM0);
            let pcm = digit_sequence(
                Prompt::SAMPLE_RATE,
                &tones,
                &shape,
                DTMF_ON_MS,
                delay.as_secs_f32() * 1000.0,
            )
            .map_err(|e| failure(format!("synthesising the tones: {e}")))?;
            let prompt = cached
                .cache
                .insert_pcm(&key, &pcm)
                .map_err(|e| failure(format!("encoding the tones: {e}")))?;
            cached.added(&key, None);
            Ok(prompt)
        })
        .await
        .map_err(|e| failure(format!("encoding the tones failed: {e}")))?
    }

    async fn read_resource(&self, id: &str) -> Result<Vec<u8>, PromptSourceError> {
        let valid = !id.is_empty()
            && id.len() <= 200
            && !id.starts_with('.')
            && id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
        if !valid {
            let id = id.to_owned();
            return Err(PromptSourceError::NotAFileName { id });
        }
        if self.dir.as_os_str().is_empty() {
            let id = id.to_owned();
            return Err(PromptSourceError::NoPromptsFolder { id });
        }
        for candidate in [self.dir.join(id), self.dir.join(format!("{id}.wav"))] {
            if let Ok(meta) = tokio::fs::metadata(&candidate).await
                && meta.is_file()
            {
                if meta.len() > self.max_bytes {
                    return Err(PromptSourceError::FileTooLarge {
                        path: candidate,
                        size: meta.len(),
                        max: self.max_bytes,
                    });
                }
                return tokio::fs::read(&candidate).await.map_err(|source| {
                    PromptSourceError::Read {
                        path: candidate,
                        source,
                    }
                });
            }
        }
        let id = id.to_owned();
        Err(PromptSourceError::NotInFolder { id })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Cached> {
        self.cached.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Prompts in the cache (the beep included).
    pub fn len(&self) -> usize {
        self.lock().cache.len()
    }

    /// Whether the cache holds nothing (never: the beep is always there).
    pub fn is_empty(&self) -> bool {
        self.lock().cache.is_empty()
    }
}

fn dtmf_key(tones: &[Digit], delay: Duration) -> String {
    let keys: String = tones.iter().map(|d| d.as_char()).collect();
    format!("dtmf:{keys}@{}ms", delay.as_millis())
}
