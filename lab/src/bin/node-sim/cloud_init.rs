//! `cloud-init status`: the stages of a first boot, as cloud-init 23.4+
//! reports them (and the faults the tests inject into them).

#[allow(clippy::wildcard_imports)]
use super::*;

/// cloud-init 23.4+ exit codes: 0 done (or running without --wait), 1 error,
/// 2 degraded/recoverable error (not simulated yet).
pub(crate) fn cloud_init(st: &mut HostState, args: &[String]) -> R {
    if args.first().map(String::as_str) != Some("status") {
        return fail(2, "usage: cloud-init status [--wait] [--long]");
    }
    let wait = args.iter().any(|a| a == "--wait" || a == "-w");
    let long = args.iter().any(|a| a == "--long" || a == "-l");
    let mut status = current_ci(st);
    if wait {
        // Real --wait prints a dot per poll while running.
        while status == "running" {
            print!(".");
            let _ = std::io::stdout().flush();
            std::thread::sleep(Duration::from_millis(250));
            status = current_ci(st);
        }
        println!();
    }
    println!("status: {status}");
    if long {
        println!(
            "extended_status: {status}\nboot_status_code: enabled-by-generator\ndetail: DataSourceNoCloud\nerrors: []"
        );
    }
    if status == "error" { fail(1, "") } else { Ok(()) }
}
pub(crate) fn current_ci(st: &HostState) -> String {
    if st.cloud_init == "running" && now_secs() >= st.cloud_init_running_until {
        "done".into()
    } else {
        st.cloud_init.clone()
    }
}
