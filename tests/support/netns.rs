//! Runs a test inside a private network namespace, so a browser test can use a non-loopback
//! address without any packet leaving the machine.
//!
//! The test re-executes its own binary under `unshare --net` (root, as in CI) and passes if that
//! run passes. Inside, only loopback exists, plus a veth pair whose first end carries the
//! address asked for: an interface like a VM's NIC, with nothing behind it.

use std::process::Command;

const INSIDE: &str = "SWITCHBOARD_TEST_NETNS";

/// Call first in a test. Returns `true` inside the namespace (run the test body there) and
/// `false` outside, once the inner run has passed (panics if it failed). `address` (CIDR, such
/// as `198.18.0.1/24`) is put on a veth interface; `None` leaves only loopback.
pub fn isolate(test_name: &str, address: Option<&str>) -> bool {
    if std::env::var_os(INSIDE).is_some() {
        setup(address);
        return true;
    }
    let exe = std::env::current_exe().expect("the test binary's path");
    let status = Command::new("unshare")
        .arg("--net")
        .arg("--")
        .arg(&exe)
        .args([test_name, "--exact", "--nocapture", "--test-threads=1"])
        .env(INSIDE, "1")
        .status()
        .unwrap_or_else(|e| panic!("cannot run unshare (util-linux) for {test_name}: {e}"));
    assert!(
        status.success(),
        "{test_name} failed inside its private network namespace ({status}); if unshare itself \
         failed, this test needs root (CAP_SYS_ADMIN), as `make test` and CI have"
    );
    false
}

fn setup(address: Option<&str>) {
    ip(&["link", "set", "lo", "up"]);
    if let Some(address) = address {
        ip(&[
            "link", "add", "sbtest0", "type", "veth", "peer", "name", "sbtest1",
        ]);
        ip(&["addr", "add", address, "dev", "sbtest0"]);
        ip(&["link", "set", "sbtest0", "up"]);
        ip(&["link", "set", "sbtest1", "up"]);
    }
}

fn ip(args: &[&str]) {
    let status = Command::new("ip")
        .args(args)
        .status()
        .unwrap_or_else(|e| panic!("cannot run ip {args:?} (iproute2): {e}"));
    assert!(status.success(), "ip {args:?} failed: {status}");
}
