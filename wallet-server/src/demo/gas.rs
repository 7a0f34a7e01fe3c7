//! `--demo`'s gas programme: norms for both regions (set once, like the integration role
//! would) and the banner's walk-through — a list for next month, the 7th, consent, the
//! account check and activation, the handover on the 26th and a discount — with the
//! built-in provider's accounts.

use shared::time::YearMonth;
use shared::Sex;
use time::Month;

use super::{iin_for, SeedError};
use crate::domain::audit::Actor;
use crate::domain::gas::{Norm, Region};
use crate::domain::monthly::MonthlyRules;
use crate::services::monthly;
use crate::services::Deps;

/// The demo norms (invented): region, m³ per month, tiyn per m³.
const NORMS: [(Region, f64, i64); 2] = [
    (Region::Shymkent, 150.0, 2_000),
    (Region::WestKazakhstan, 180.0, 1_800),
];

/// Sets the regions' norms unless they are set (a restart keeps what was PUT since).
pub async fn seed(deps: &Deps, rules: &MonthlyRules) -> Result<(), SeedError> {
    for (region, norm_m3, benefit_tiyn_per_m3) in NORMS {
        if deps.store.norm(rules.programme, region).await?.is_some() {
            continue;
        }
        let norm = Norm {
            norm_m3,
            benefit_tiyn_per_m3,
        };
        monthly::put_norm(deps, rules, region, norm, Actor::Demo)
            .await
            .map_err(|_| SeedError::Data("gas norm"))?;
    }
    Ok(())
}

/// The banner's gas walk-through; `accounts` are the built-in provider's.
pub fn banner(base: &str, now_month: YearMonth, accounts: &[&str]) -> String {
    let next = now_month.next();
    let recipient = iin_for((1985, Month::March, 8), Sex::Female)
        .map(|i| i.expose())
        .unwrap_or_default();
    let token = |json: &str| {
        format!(
            "$(curl -s -X POST {base}/dev/token -H 'content-type: application/json' -d '{json}' | sed -E 's/.*\"token\":\"([^\"]+)\".*/\\1/')"
        )
    };
    let integ = token(r#"{"sub":"sdu","role":"integration"}"#);
    let gas = token(&format!(r#"{{"sub":"{recipient}","role":"parent"}}"#));
    let provider = token(r#"{"sub":"qazaqgaz","role":"provider"}"#);
    let account = accounts.first().copied().unwrap_or("1000000001");
    let norms: Vec<String> = NORMS
        .iter()
        .map(|(r, n, b)| format!("{r} {n} m3 x {b} tiyn/m3"))
        .collect();
    format!(
        "\
Gas vouchers (seed 002): provider accounts {accounts}; norms {norms}
  INTEG={integ}
  # 1. SDU's list for {next}: nobody is messaged before the 7th, 09:00
  curl -s -X POST {base}/v1/integration/eligibility-lists -H \"authorization: Bearer $INTEG\" \\
    -H 'content-type: application/json' -d '{{\"programme\":\"gas\",\"period\":\"{next}\",\"region\":\"shymkent\",\"recipients\":[{{\"iin\":\"{recipient}\",\"full_name\":\"Иванова Айгуль\",\"phone\":\"+77015550021\"}}]}}'
  # 2. the 7th, 09:00: the start SMS leaves (see the outbox); she answers 3#1
  curl -s -X POST {base}/dev/clock -H 'content-type: application/json' -d '{{\"now\":\"{next}-07T09:00:00+05:00\"}}'
  curl -s -X POST {base}/v1/integration/sms/inbound -H \"authorization: Bearer $INTEG\" \\
    -H 'content-type: application/json' -d '{{\"phone\":\"+77015550021\",\"text\":\"3#1\"}}'
  # 3. her wallet: check the personal account, accept the offer, activate
  GAS={gas}
  VOUCHER=$(curl -s {base}/v1/wallet/vouchers -H \"authorization: Bearer $GAS\" | sed -E 's/.*\"id\":\"([^\"]+)\".*\"programme\":\"gas\".*/\\1/')
  curl -s -X POST {base}/v1/wallet/vouchers/$VOUCHER/account -H \"authorization: Bearer $GAS\" \\
    -H 'content-type: application/json' -d '{{\"personal_account\":\"{account}\"}}'
  curl -s -X POST {base}/v1/wallet/vouchers/$VOUCHER/activate -H \"authorization: Bearer $GAS\" \\
    -H 'content-type: application/json' -d '{{\"personal_account\":\"{account}\",\"offer_accepted\":true}}'
  # 4. the 26th: the month's activations go to the provider; it sends a discount (cap 300000)
  curl -s -X POST {base}/dev/clock -H 'content-type: application/json' -d '{{\"now\":\"{next}-26T10:00:00+05:00\"}}'
  PROVIDER={provider}
  curl -s '{base}/v1/provider/activations?month={next}' -H \"authorization: Bearer $PROVIDER\"
  curl -s -X POST {base}/v1/provider/discounts -H \"authorization: Bearer $PROVIDER\" \\
    -H 'content-type: application/json' -d '{{\"month\":\"{next}\",\"items\":[{{\"voucher_id\":\"'$VOUCHER'\",\"volume_m3\":120,\"norm_m3\":150,\"benefit_tiyn_per_m3\":2000,\"discount_tiyn\":240000}}]}}'
  curl -s {base}/v1/wallet/vouchers -H \"authorization: Bearer $GAS\"
",
        accounts = accounts.join(", "),
        norms = norms.join(", "),
    )
}
