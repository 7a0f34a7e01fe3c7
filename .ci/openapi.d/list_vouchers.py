"""A parent's vouchers through the client generated from /openapi.json (.ci/openapi).

Usage: python list_vouchers.py BASE_URL PARENT_IIN, with the generated package
`wallet_client` on the path. Asks the demo identity provider (`POST /dev/token`) for the
parent's token and lists her vouchers (`GET /v1/wallet/vouchers`), both through the
generated client, and fails unless at least one voucher comes back with its fields typed.
Type-checked with `mypy --strict` together with the generated package.
"""

import sys
from datetime import date
from uuid import UUID

from wallet_client import AuthenticatedClient, Client
from wallet_client.api.dev import token as dev_token
from wallet_client.api.wallet import list_vouchers
from wallet_client.models import (
    Programme,
    Role,
    SchoolRef,
    StudentRef,
    TokenRequest,
    TokenResponse,
    VoucherState,
    WalletVouchers,
)


def parent_token(base_url: str, iin: str) -> str:
    with Client(base_url=base_url, raise_on_unexpected_status=True) as client:
        answer = dev_token.sync(client=client, body=TokenRequest(sub=iin, role=Role.PARENT))
    if not isinstance(answer, TokenResponse):
        raise SystemExit(f"POST /dev/token answered {answer!r}")
    return answer.token


def main(base_url: str, iin: str) -> None:
    token = parent_token(base_url, iin)
    with AuthenticatedClient(
        base_url=base_url, token=token, raise_on_unexpected_status=True
    ) as client:
        answer = list_vouchers.sync(client=client)
    if not isinstance(answer, WalletVouchers):
        raise SystemExit(f"GET /v1/wallet/vouchers answered {answer!r}")
    if not answer.vouchers:
        raise SystemExit(f"parent {iin[:4]}… has no vouchers in the demo")
    for voucher in answer.vouchers:
        assert isinstance(voucher.state, VoucherState), voucher
        assert isinstance(voucher.programme, Programme), voucher
        # Typed by the document's formats (uuid, date), not left as strings.
        assert isinstance(voucher.id, UUID), voucher
        assert isinstance(voucher.valid_from, date), voucher
        assert voucher.valid_from <= voucher.valid_until, voucher
        # School meals name the child and the school (gas vouchers have neither).
        assert isinstance(voucher.student, StudentRef), voucher
        assert isinstance(voucher.school, SchoolRef), voucher
        assert voucher.student.full_name and voucher.school.bin_, voucher
        print(
            f"  {voucher.id}  {voucher.state.value:<9}  {voucher.student.full_name} "
            f"({voucher.student.class_label}), {voucher.school.name}, "
            f"{voucher.valid_from} to {voucher.valid_until}"
        )
    print(f"{len(answer.vouchers)} voucher(s) listed through the generated client")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit("usage: list_vouchers.py BASE_URL PARENT_IIN")
    main(sys.argv[1], sys.argv[2])
