//! HTTP plumbing of the remote backends: endpoint checks (TLS unless loopback), the API key
//! (read from the environment variable the settings name, never stored, printed or logged),
//! the client with its timeouts, and errors in words with the key redacted.

use std::fmt;
use std::io;
use std::net::IpAddr;
use std::time::Duration;

use super::BackendSpec;

/// A checked base URL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoint {
    /// `http` or `https`.
    pub scheme: String,
    /// Host name or address (brackets kept for IPv6).
    pub host: String,
    /// The base URL without a trailing slash (and without a trailing `/v1`).
    pub base: String,
}

/// Problems with the endpoint or the key, found before any request.
#[derive(Debug, thiserror::Error)]
pub enum EndpointError {
    /// No endpoint set for a remote backend.
    #[error("the {kind} backend needs an endpoint (for example http://127.0.0.1:8080)")]
    Missing {
        /// The backend kind.
        kind: String,
    },
    /// Not an http(s) URL.
    #[error("endpoint {given:?} is not an http:// or https:// URL")]
    NotHttp {
        /// What was given.
        given: String,
    },
    /// Credentials inside the URL.
    #[error(
        "endpoint URLs must not contain credentials; put the key in an environment variable and name it in apiKeyEnv"
    )]
    Credentials,
    /// Plain http to another machine.
    #[error(
        "endpoint {given} sends code over plain http to a host that is not this machine; use https, or set allowInsecureHttp if the network is trusted"
    )]
    Insecure {
        /// The endpoint.
        given: String,
    },
    /// The named environment variable is not set.
    #[error(
        "apiKeyEnv names the environment variable {name}, which is not set (or empty) in the server's environment"
    )]
    KeyMissing {
        /// The variable's name.
        name: String,
    },
    /// The client could not be built (TLS setup).
    #[error("could not set up the HTTP client: {detail}")]
    Client {
        /// What failed.
        detail: String,
    },
}

impl Endpoint {
    /// Checks `given` as the endpoint of `spec`: http(s), no credentials, TLS unless the host is
    /// loopback or `allow_insecure_http` is set.
    pub fn parse(given: &str, allow_insecure_http: bool) -> Result<Endpoint, EndpointError> {
        let given = given.trim();
        let (scheme, rest) = given
            .split_once("://")
            .ok_or_else(|| EndpointError::NotHttp {
                given: given.to_string(),
            })?;
        let scheme = scheme.to_ascii_lowercase();
        if scheme != "http" && scheme != "https" {
            return Err(EndpointError::NotHttp {
                given: given.to_string(),
            });
        }
        let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
        if authority.contains('@') {
            return Err(EndpointError::Credentials);
        }
        let host = if let Some(bracketed) = authority.strip_prefix('[') {
            format!("[{}]", bracketed.split(']').next().unwrap_or_default())
        } else {
            authority.split(':').next().unwrap_or_default().to_string()
        };
        if host.is_empty() || host == "[]" {
            return Err(EndpointError::NotHttp {
                given: given.to_string(),
            });
        }
        if scheme == "http" && !allow_insecure_http && !is_loopback(&host) {
            return Err(EndpointError::Insecure {
                given: given.to_string(),
            });
        }
        let mut base = format!("{scheme}://{rest}");
        while base.ends_with('/') {
            base.pop();
        }
        if let Some(stripped) = base.strip_suffix("/v1") {
            base = stripped.to_string();
        }
        Ok(Endpoint { scheme, host, base })
    }

    /// The URL of `path` (which starts with `/`).
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.base)
    }
}

/// Whether `host` names this machine.
pub fn is_loopback(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    bare.eq_ignore_ascii_case("localhost")
        || bare.to_ascii_lowercase().ends_with(".localhost")
        || bare.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// An API key. Its `Debug` and `Display` never show it.
#[derive(Clone)]
pub struct ApiKey(String);

impl ApiKey {
    /// Reads the key from the environment variable named `name`.
    pub fn from_env(name: &str) -> Result<ApiKey, EndpointError> {
        match std::env::var(name) {
            Ok(value) if !value.trim().is_empty() => Ok(ApiKey(value.trim().to_string())),
            _ => Err(EndpointError::KeyMissing {
                name: name.to_string(),
            }),
        }
    }

    /// The `Authorization` header value.
    pub fn bearer(&self) -> String {
        format!("Bearer {}", self.0)
    }

    /// `text` with every occurrence of the key replaced by `<redacted>`.
    pub fn redact(&self, text: &str) -> String {
        if self.0.len() < 4 {
            return text.to_string();
        }
        text.replace(&self.0, "<redacted>")
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey(<redacted>)")
    }
}

/// The HTTP client for `spec`: connect and total timeouts, statuses returned (not errors).
pub fn agent(spec: &BackendSpec) -> ureq::Agent {
    ureq::Agent::config_builder()
        .timeout_connect(Some(spec.connect_timeout))
        .timeout_global(Some(spec.total_timeout))
        .http_status_as_error(false)
        .max_idle_connections_per_host(4)
        .max_idle_age(Duration::from_secs(30))
        .user_agent(concat!("ghostline/", env!("CARGO_PKG_VERSION")))
        .build()
        .into()
}

/// What went wrong with one HTTP exchange, in the words the status and the logs use.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Failure {
    /// Nothing answered (refused, reset before a response, unknown host).
    Unreachable {
        /// What the network said.
        detail: String,
        /// Safe to try again: nothing reached a server that could have started work.
        retryable: bool,
    },
    /// A timeout.
    Timeout {
        /// Which phase: `connect`, `total` (the whole exchange) or `budget` (no text within
        /// the request's time budget).
        phase: &'static str,
    },
    /// The connection broke after the answer started (server killed, network gone).
    Interrupted {
        /// What the network said.
        detail: String,
    },
    /// TLS failed.
    Tls {
        /// What rustls said.
        detail: String,
    },
    /// Anything else the client reported.
    Other {
        /// The client's words.
        detail: String,
    },
}

impl Failure {
    /// Classifies a client error. `answered` is true once response bytes arrived.
    pub fn from_ureq(error: ureq::Error, answered: bool) -> Failure {
        match error {
            ureq::Error::Timeout(timeout) => Failure::Timeout {
                phase: match timeout {
                    ureq::Timeout::Connect | ureq::Timeout::Resolve => "connect",
                    _ => "total",
                },
            },
            ureq::Error::HostNotFound => Failure::Unreachable {
                detail: "host not found".to_string(),
                retryable: false,
            },
            ureq::Error::ConnectionFailed => Failure::Unreachable {
                detail: "connection failed".to_string(),
                retryable: !answered,
            },
            ureq::Error::Io(io) => Failure::from_io(&io, answered),
            ureq::Error::Tls(detail) => Failure::Tls {
                detail: detail.to_string(),
            },
            ureq::Error::Rustls(error) => Failure::Tls {
                detail: error.to_string(),
            },
            other => Failure::Other {
                detail: other.to_string(),
            },
        }
    }

    /// Classifies an I/O error while sending (`answered == false`) or reading the answer.
    pub fn from_io(error: &io::Error, answered: bool) -> Failure {
        let broken = matches!(
            error.kind(),
            io::ErrorKind::ConnectionRefused
                | io::ErrorKind::ConnectionReset
                | io::ErrorKind::ConnectionAborted
                | io::ErrorKind::BrokenPipe
                | io::ErrorKind::UnexpectedEof
                | io::ErrorKind::NotConnected
        );
        if error.kind() == io::ErrorKind::TimedOut {
            return Failure::Timeout { phase: "total" };
        }
        if error.kind() == io::ErrorKind::InvalidData && !answered {
            // rustls reports handshake failures (a plain-HTTP server, a bad certificate) as
            // InvalidData I/O errors before any answer.
            return Failure::Tls {
                detail: error.to_string(),
            };
        }
        let detail = match error.kind() {
            io::ErrorKind::ConnectionRefused => "connection refused".to_string(),
            io::ErrorKind::ConnectionReset => "connection reset".to_string(),
            io::ErrorKind::UnexpectedEof => "the server closed the connection".to_string(),
            _ => error.to_string(),
        };
        if answered {
            Failure::Interrupted { detail }
        } else if broken {
            Failure::Unreachable {
                detail,
                retryable: true,
            }
        } else {
            Failure::Other { detail }
        }
    }

    /// An I/O error from reading a body: ureq wraps its own errors (timeouts) in `io::Error`.
    pub fn from_body_read(error: io::Error) -> Failure {
        if error
            .get_ref()
            .is_some_and(|inner| inner.is::<ureq::Error>())
        {
            Failure::from_ureq(ureq::Error::from(error), true)
        } else {
            Failure::from_io(&error, true)
        }
    }

    /// May the request be sent again?
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            Failure::Unreachable {
                retryable: true,
                ..
            }
        )
    }

    /// The failure in words, with the timeouts of `spec`.
    pub fn describe(&self, spec: &BackendSpec) -> String {
        match self {
            Failure::Unreachable { detail, .. } => format!("is unreachable: {detail}"),
            Failure::Timeout { phase: "connect" } => format!(
                "did not accept a connection within {} ms (connectTimeoutMs)",
                spec.connect_timeout.as_millis()
            ),
            Failure::Timeout { phase: "budget" } => {
                "sent no text within the request's time budget".to_string()
            }
            Failure::Timeout { .. } => format!(
                "did not finish answering within {} ms (totalTimeoutMs)",
                spec.total_timeout.as_millis()
            ),
            Failure::Interrupted { detail } => {
                format!("broke off its answer: {detail}")
            }
            Failure::Tls { detail } => format!("failed the TLS handshake: {detail}"),
            Failure::Other { detail } => format!("failed: {detail}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_tls_and_loopback() {
        let local = Endpoint::parse("http://127.0.0.1:8080/v1/", false).unwrap();
        assert_eq!(local.base, "http://127.0.0.1:8080");
        assert_eq!(
            local.url("/v1/completions"),
            "http://127.0.0.1:8080/v1/completions"
        );
        assert!(Endpoint::parse("http://localhost:11434", false).is_ok());
        assert!(Endpoint::parse("http://[::1]:8080", false).is_ok());
        assert_eq!(
            Endpoint::parse("https://gpu.example.test/llm/", false)
                .unwrap()
                .base,
            "https://gpu.example.test/llm"
        );
        let error = Endpoint::parse("http://10.0.0.5:8000", false)
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("plain http") && error.contains("allowInsecureHttp"),
            "{error}"
        );
        assert!(Endpoint::parse("http://10.0.0.5:8000", true).is_ok());
        assert!(Endpoint::parse("http://127.0.0.1.evil.test", false).is_err());
        let error = Endpoint::parse("https://user:sk-secret@host.test", false)
            .unwrap_err()
            .to_string();
        assert!(
            !error.contains("sk-secret") && error.contains("apiKeyEnv"),
            "{error}"
        );
        assert!(Endpoint::parse("ftp://host", false).is_err());
        assert!(Endpoint::parse("127.0.0.1:8080", false).is_err());
        assert!(Endpoint::parse("http://", false).is_err());
    }

    #[test]
    fn keys_never_print() {
        // SAFETY: tests in this module are the only users of this variable name.
        unsafe { std::env::set_var("GHOSTLINE_TEST_KEY_PRINT", "sk-very-secret") };
        let key = ApiKey::from_env("GHOSTLINE_TEST_KEY_PRINT").unwrap();
        assert_eq!(format!("{key:?}"), "ApiKey(<redacted>)");
        assert_eq!(key.redact("bad key sk-very-secret!"), "bad key <redacted>!");
        let error = ApiKey::from_env("GHOSTLINE_TEST_KEY_UNSET")
            .unwrap_err()
            .to_string();
        assert!(error.contains("GHOSTLINE_TEST_KEY_UNSET"), "{error}");
    }

    #[test]
    fn only_failures_before_an_answer_are_retried() {
        let refused = io::Error::from(io::ErrorKind::ConnectionRefused);
        assert!(Failure::from_io(&refused, false).is_retryable());
        assert!(!Failure::from_io(&refused, true).is_retryable());
        let reset = io::Error::from(io::ErrorKind::ConnectionReset);
        assert!(matches!(
            Failure::from_io(&reset, true),
            Failure::Interrupted { .. }
        ));
        assert!(
            !Failure::from_ureq(ureq::Error::Timeout(ureq::Timeout::Global), false).is_retryable()
        );
        assert!(!Failure::from_ureq(ureq::Error::HostNotFound, false).is_retryable());
        let spec = BackendSpec::default();
        assert_eq!(
            Failure::Timeout { phase: "total" }.describe(&spec),
            "did not finish answering within 15000 ms (totalTimeoutMs)"
        );
    }
}
