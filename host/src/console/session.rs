//! Signing in to the console: the admin token is asked for once, then a session carries on.
//!
//! - A session is a random 256-bit id in an `HttpOnly`, `SameSite=Strict` cookie (`Secure` when
//!   the request came over HTTPS through a proxy that says so), kept in memory. It ends after
//!   its idle time without a request (`server.console_idle_s`, 12 hours by default), at
//!   sign-out, or when the server restarts.
//! - Every session has its own random CSRF token; every state-changing form carries it and is
//!   refused without it. `SameSite=Strict` already keeps other sites' forms from carrying the
//!   cookie; the token also covers browsers that ignore it.
//! - Wrong tokens are throttled per client address: after [`MAX_FAILURES`] in a minute, sign-in
//!   answers `429` until the oldest failure is a minute old. Right tokens never count, so a
//!   flood of wrong ones from one address does not lock out another.
//! - Tokens are compared in constant time (`redact::same_secret`).

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The default idle time (`config::DEFAULT_CONSOLE_IDLE_S`), for tests.
#[cfg(test)]
pub(crate) const IDLE: Duration = Duration::from_secs(crate::config::DEFAULT_CONSOLE_IDLE_S);
/// Wrong tokens one client address may send in [`WINDOW`].
pub(crate) const MAX_FAILURES: usize = 10;
/// The window wrong tokens are counted in.
pub(crate) const WINDOW: Duration = Duration::from_secs(60);
/// The session cookie's name.
pub(crate) const COOKIE: &str = "switchyard_session";

/// A random 256-bit value as hex.
fn random_hex() -> String {
    let mut bytes = [0u8; 32];
    // The OS's generator does not fail on the systems this runs on; if it did, a fixed value
    // would be guessable, so refuse to continue.
    getrandom::fill(&mut bytes).expect("the operating system's random generator");
    hex::encode(bytes)
}

struct Session {
    csrf: String,
    last_seen: Instant,
}

/// The sessions signed in now.
pub(crate) struct Sessions {
    by_id: Mutex<HashMap<String, Session>>,
    idle: Duration,
}

/// A session in use: its id (the cookie's value) and its CSRF token.
#[derive(Debug, Clone)]
pub(crate) struct SignedIn {
    pub(crate) id: String,
    pub(crate) csrf: String,
}

impl Sessions {
    pub(crate) fn new(idle: Duration) -> Sessions {
        Sessions {
            by_id: Mutex::default(),
            idle,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Session>> {
        self.by_id.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Starts a session.
    pub(crate) fn open(&self) -> SignedIn {
        let signed_in = SignedIn {
            id: random_hex(),
            csrf: random_hex(),
        };
        let mut sessions = self.lock();
        let idle = self.idle;
        sessions.retain(|_, s| s.last_seen.elapsed() < idle);
        sessions.insert(
            signed_in.id.clone(),
            Session {
                csrf: signed_in.csrf.clone(),
                last_seen: Instant::now(),
            },
        );
        signed_in
    }

    /// The session with this id, if it is still open; a request keeps it open.
    pub(crate) fn touch(&self, id: &str) -> Option<SignedIn> {
        let mut sessions = self.lock();
        let session = sessions.get_mut(id)?;
        if session.last_seen.elapsed() >= self.idle {
            sessions.remove(id);
            return None;
        }
        session.last_seen = Instant::now();
        Some(SignedIn {
            id: id.to_string(),
            csrf: session.csrf.clone(),
        })
    }

    /// Ends a session.
    pub(crate) fn close(&self, id: &str) {
        self.lock().remove(id);
    }
}

/// Wrong admin tokens per client address, within the last [`WINDOW`].
#[derive(Default)]
pub(crate) struct Throttle {
    failures: Mutex<HashMap<IpAddr, VecDeque<Instant>>>,
}

impl Throttle {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<IpAddr, VecDeque<Instant>>> {
        self.failures.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// `None` when `client` may try a token now, else how long it must wait.
    pub(crate) fn wait(&self, client: IpAddr) -> Option<Duration> {
        let mut all = self.lock();
        let list = all.get_mut(&client)?;
        while list.front().is_some_and(|t| t.elapsed() >= WINDOW) {
            list.pop_front();
        }
        if list.is_empty() {
            all.remove(&client);
            return None;
        }
        (list.len() >= MAX_FAILURES).then(|| WINDOW.saturating_sub(list[0].elapsed()))
    }

    /// Counts a wrong token from `client`.
    pub(crate) fn failed(&self, client: IpAddr) {
        let mut all = self.lock();
        // Forget clients whose failures are all old, so the map stays small.
        all.retain(|_, list| list.back().is_some_and(|t| t.elapsed() < WINDOW));
        let list = all.entry(client).or_default();
        list.push_back(Instant::now());
        while list.len() > MAX_FAILURES {
            list.pop_front();
        }
    }
}

/// The value of the session cookie in a `Cookie` header.
pub(crate) fn cookie_value(header: &str) -> Option<&str> {
    header
        .split(';')
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value)
}

/// The `Set-Cookie` value that starts a session. It has no `Max-Age`: the browser keeps it until
/// it closes, and the server ends the session after its idle time. (A `Max-Age` would count
/// from sign-in, ending a session that is in use.)
pub(crate) fn set_cookie(id: &str, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!("{COOKIE}={id}; Path=/; HttpOnly; SameSite=Strict{secure}")
}

/// The `Set-Cookie` value that ends a session.
pub(crate) fn clear_cookie() -> String {
    format!("{COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_end_after_the_idle_time_and_at_sign_out() {
        let sessions = Sessions::new(Duration::from_millis(50));
        let a = sessions.open();
        let b = sessions.open();
        assert_ne!(a.id, b.id);
        assert_ne!(a.csrf, b.csrf);
        assert_eq!(a.id.len(), 64);
        assert_eq!(sessions.touch(&a.id).unwrap().csrf, a.csrf);
        sessions.close(&a.id);
        assert!(sessions.touch(&a.id).is_none());
        std::thread::sleep(Duration::from_millis(80));
        assert!(sessions.touch(&b.id).is_none(), "idle too long");
        assert!(sessions.touch("not-a-session").is_none());
    }

    #[test]
    fn ten_wrong_tokens_a_minute_then_wait() {
        let throttle = Throttle::default();
        let client: IpAddr = "192.0.2.7".parse().unwrap();
        let other: IpAddr = "192.0.2.8".parse().unwrap();
        for _ in 0..MAX_FAILURES - 1 {
            throttle.failed(client);
            assert_eq!(throttle.wait(client), None);
        }
        throttle.failed(client);
        let wait = throttle.wait(client).expect("throttled");
        assert!(wait > Duration::from_secs(55) && wait <= WINDOW, "{wait:?}");
        assert_eq!(
            throttle.wait(other),
            None,
            "another client is not held back"
        );
    }

    #[test]
    fn the_cookie_is_found_among_others() {
        assert_eq!(
            cookie_value("a=1; switchyard_session=abc; b=2"),
            Some("abc")
        );
        assert_eq!(cookie_value("a=1"), None);
        assert!(set_cookie("x", true).ends_with("; Secure"));
        assert_eq!(
            set_cookie("x", false),
            format!("{COOKIE}=x; Path=/; HttpOnly; SameSite=Strict")
        );
    }
}
