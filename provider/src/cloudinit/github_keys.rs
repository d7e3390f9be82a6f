//! Fetching SSH public keys from GitHub (`<base>/<user>.keys`) at plan time.
//!
//! Keys are fetched when a `cloudinit_config` is planned for creation and
//! then pinned in state, so later plans do not change when someone edits
//! their GitHub keys. Within one provider process each user is fetched once,
//! so a plan of many nodes sharing an operator makes one request.

use std::collections::HashMap;
use std::sync::{Mutex, RwLock};
use std::time::Duration;

use tokio::sync::OnceCell;

use crate::error_chain::error_chain;

/// Why keys could not be fetched.
#[derive(Debug, thiserror::Error)]
pub enum GithubKeysError {
    /// The HTTP request failed (DNS, connect, TLS, timeout).
    #[error("request to {url} failed: {reason}")]
    Request {
        /// The URL requested.
        url: String,
        /// What went wrong.
        reason: String,
    },
    /// The server answered with a non-success status.
    #[error("{url} answered HTTP {status}")]
    Status {
        /// The URL requested.
        url: String,
        /// The HTTP status code.
        status: u16,
    },
    /// A line of the answer is not an SSH public key.
    #[error("{url} returned an invalid SSH public key: {reason}")]
    InvalidKey {
        /// The URL requested.
        url: String,
        /// Why the key was rejected.
        reason: String,
    },
    /// The user has no public keys.
    #[error("{url} lists no SSH public keys")]
    NoKeys {
        /// The URL requested.
        url: String,
    },
    /// The HTTP client could not be built.
    #[error("could not set up the HTTP client: {0}")]
    Client(String),
}

/// A GitHub keys fetcher with a per-process cache.
#[derive(Debug)]
pub struct GithubKeys {
    base_url: RwLock<String>,
    // Built on first use: loading the system trust store costs start-up time
    // that most plugin runs never need.
    client: OnceCell<reqwest::Client>,
    cache: Mutex<HashMap<String, Vec<String>>>,
}

/// Whether `name` can be a GitHub user name (letters, digits, single
/// hyphens, at most 39 characters).
pub fn is_valid_github_user(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 39
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        && !name.starts_with('-')
        && !name.ends_with('-')
        && !name.contains("--")
}

impl GithubKeys {
    /// A fetcher for `base_url` (e.g. `https://github.com`).
    pub fn new(base_url: &str) -> Self {
        Self {
            base_url: RwLock::new(base_url.trim_end_matches('/').to_string()),
            client: OnceCell::new(),
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// Changes the base URL (from the provider block).
    pub fn set_base_url(&self, base_url: &str) {
        if let Ok(mut slot) = self.base_url.write() {
            *slot = base_url.trim_end_matches('/').to_string();
        }
    }

    /// The URL keys of `user` are fetched from.
    pub fn url_for(&self, user: &str) -> String {
        let base = self.base_url.read().map(|b| b.clone()).unwrap_or_default();
        format!("{base}/{user}.keys")
    }

    async fn client(&self) -> Result<&reqwest::Client, GithubKeysError> {
        self.client
            .get_or_try_init(|| async {
                reqwest::Client::builder()
                    .timeout(Duration::from_secs(20))
                    .user_agent(concat!("terraform-provider-cloudinit/", env!("CARGO_PKG_VERSION")))
                    .build()
                    .map_err(|err| GithubKeysError::Client(err.to_string()))
            })
            .await
    }

    /// The validated public keys of `user`, in the order GitHub lists them.
    pub async fn fetch(&self, user: &str) -> Result<Vec<String>, GithubKeysError> {
        let url = self.url_for(user);
        if let Some(keys) = self.cache.lock().ok().and_then(|cache| cache.get(&url).cloned()) {
            return Ok(keys);
        }
        tracing::debug!(%url, "fetching SSH keys");
        let response = self
            .client()
            .await?
            .get(&url)
            .send()
            .await
            .map_err(|err| GithubKeysError::Request { url: url.clone(), reason: error_chain(&err) })?;
        let status = response.status();
        if !status.is_success() {
            return Err(GithubKeysError::Status { url, status: status.as_u16() });
        }
        let body = response
            .text()
            .await
            .map_err(|err| GithubKeysError::Request { url: url.clone(), reason: error_chain(&err) })?;
        let keys = super::parse_authorized_keys(&body)
            .map_err(|err| GithubKeysError::InvalidKey { url: url.clone(), reason: err.to_string() })?;
        if keys.is_empty() {
            return Err(GithubKeysError::NoKeys { url });
        }
        if let Ok(mut cache) = self.cache.lock() {
            cache.insert(url, keys.clone());
        }
        Ok(keys)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn github_user_names() {
        for good in ["octocat", "a", "my-user-1"] {
            assert!(is_valid_github_user(good), "{good}");
        }
        for bad in ["", "-x", "x-", "a--b", "a_b", "a/b", "../etc", &"x".repeat(40)] {
            assert!(!is_valid_github_user(bad), "{bad}");
        }
    }
}
