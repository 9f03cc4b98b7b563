#!/usr/bin/env python3
"""The benchmark's Python reference: the same signed TOP body, standard library only
(json, urllib.parse, hmac, hashlib).

    python3 bench/bench_py.py --check DIR     compare with the C bodies and JSON in DIR
                                              (written by `bench_<be> check DIR`);
                                              one line per check, then "N passed, N failed"
    python3 bench/bench_py.py --time [RUNS]   "us <order> <method> <median>" lines: the
                                              median of RUNS timed calls (time.perf_counter)

The orders are built here as dicts, in the API document's key order: the example
order (tests/example_order.h) and the large order (bench/orders.h, large_order_build;
the two generators must agree: --check compares the JSON bytes). One call of
sign_body() is the whole job: json.dumps, the parameters sorted by name, the string
to sign, the digest, urlencode.

The form rule is TOP's: urlencode(quote_via=quote_plus, safe="*") keeps A-Z a-z 0-9
- _ . * and '~' (Python always keeps '~'; TOP encodes it: the orders have none)."""

import hashlib
import hmac
import json
import os
import statistics
import sys
import time
import urllib.parse

API_METHOD = "alibaba.finance.insurance.icbu.insure.order.callback"
APP_KEY = "12345678"
SECRET = "helloworld"
TIMESTAMP = "2026-01-01 12:00:00"
METHODS = ("hmac-sha256", "hmac", "md5")


def customer(license_valid_time_util, address, license_valid_time_from, license_type):
    return {
        "birthday": "20221001",
        "license_no": "111111111111111111",
        "license_valid_time_util": license_valid_time_util,
        "address": address,
        "gender": "male",
        "alipay_account_id": "11111",
        "ali_id": "3664297069",
        "license_valid_time_from": license_valid_time_from,
        "license_type": license_type,
        "phone": "11111111111",
        "customer_id": {"ali_id": 3664297069},
        "name": "张三",
        "email": "baocgs01lastname@yougen.site",
    }


def example_order(goods=None):
    if goods is None:
        goods = [{
            "item_type": "xxx",
            "item_quantity": 11,
            "item_currency": "USD",
            "item_code": "123",
            "item_price": "123",
            "item_desc": "xxx",
            "item_url_list": ["xxx", "sss"],
        }]
    return {
        "insured_alipay_account": "12344",
        "insure_time": "2022-10-11 00:00:00",
        "amount": 10,
        "external_biz_id": "12345",
        "insured": customer("20251001", "xxx road", "20200101", "PASSPORT"),
        "open_id": "icbu_cargo_insurance",
        "applicant_alipay_account": "1111",
        "premium_rate": "0.1",
        "memo": "xxx",
        "echo": "xxx",
        "precision_premium": "0.2",
        "subject_matter_info": {
            "order_id": "2344555",
            "seller_alipay_account": "222222",
            "seller_login_id": "22ss",
            "buyer_id": "222",
            "buyer_login_id": "22dd",
            "order_amount": 10,
            "seller_id": "2222",
            "order_time": "2022-10-01 00:00:00",
            "goods_item_list": goods,
            "order_title": "xxx",
            "platform_name": "Alibaba",
            "order_category": "xxx",
            "buyer_alipay_account": "xxxx",
        },
        "applicant": customer("20221001", "xxx", "20201001", "ID card"),
        "major_order": True,
        "institution": "DAJIA",
        "insure_period": 1,
        "premium": 1,
        "expire_time": "2022-02-10 00:00:00",
        "currency": "USD",
        "currency_rate": "7.2",
        "transfer_stream_info": {"fund_stream": "xxx"},
    }


# Must equal LARGE_CJK_TEXT in bench/orders.h.
LARGE_CJK_TEXT = ("本批货物为出口欧洲市场的不锈钢厨具套装，含炒锅、汤锅、蒸笼及配套锅盖，"
                  "采用食品级材料制造，经严格质量检验并做防潮防震包装，适合海运集装箱长途运输。")


def large_order():
    goods = []
    for i in range(60):
        qty = (7 * i) % 50 + 1
        goods.append({
            "item_type": "cookware",
            "item_quantity": qty,
            "item_currency": "USD",
            "item_code": "KT-%d" % (1000 + i),
            "item_price": "%d.%02d" % ((37 * i) % 900 + 100, (13 * i) % 100),
            "item_desc": "第%d项：" % (i + 1) + LARGE_CJK_TEXT * 4
                         + " 型号\"KT-%d\"，数量%d箱" % (1000 + i, qty),
            "item_url_list": [
                "https://www.alibaba.com/product-detail/Stainless-Steel-Cookware-Set_%d.html"
                "?spm=a2700.details.0.0.%d&lang=zh_CN" % (1600000000 + 10 * i + j, j)
                for j in range(10)],
        })
    return example_order(goods)


ORDERS = {"example": example_order, "large": large_order}


def order_json(order):
    return json.dumps(order, ensure_ascii=False, separators=(",", ":"))


def sign_body(order, sign_method, app_key=APP_KEY, secret=SECRET, timestamp=TIMESTAMP):
    """The whole job: the signed application/x-www-form-urlencoded body."""
    params = {
        "app_key": app_key,
        "format": "json",
        "method": API_METHOD,
        "sign_method": sign_method,
        "timestamp": timestamp,
        "v": "2.0",
        "insured_order_reflow_request": order_json(order),
    }
    items = sorted(params.items())
    signed = "".join(k + v for k, v in items).encode("utf-8")
    key = secret.encode("utf-8")
    if sign_method == "md5":
        sign = hashlib.md5(key + signed + key).hexdigest().upper()
    elif sign_method == "hmac":
        sign = hmac.new(key, signed, hashlib.md5).hexdigest().upper()
    else:
        sign = hmac.new(key, signed, hashlib.sha256).hexdigest().upper()
    items.append(("sign", sign))
    return urllib.parse.urlencode(items, safe="*", quote_via=urllib.parse.quote_plus)


def check(directory):
    passed = failed = 0

    def result(ok, what):
        nonlocal passed, failed
        print("%s - %s" % ("ok" if ok else "not ok", what))
        if ok:
            passed += 1
        else:
            failed += 1

    for name, build in ORDERS.items():
        order = build()
        path = os.path.join(directory, name + ".json")
        try:
            with open(path, "rb") as f:
                c_json = f.read()
        except OSError as ex:
            result(False, "%s: %s" % (path, ex))
            continue
        result(order_json(order).encode("utf-8") == c_json,
               "%s order: Python's json.dumps == icbu_order_json" % name)
        for method in METHODS:
            body = sign_body(order, method)
            py_sign = body.rsplit("&sign=", 1)[1]
            for backend in ("mbedTLS", "PSA", "BearSSL", "OpenSSL"):
                path = os.path.join(directory, "%s_%s_%s.body" % (backend, name, method))
                try:
                    with open(path, "rb") as f:
                        c_body = f.read().decode("ascii")
                except (OSError, UnicodeDecodeError) as ex:
                    result(False, "%s: %s" % (path, ex))
                    continue
                result(c_body.rsplit("&sign=", 1)[-1] == py_sign,
                       "%s/%s/%s: Python's sign == ours (%s)" % (name, backend, method, py_sign))
                result(c_body == body,
                       "%s/%s/%s: Python's body == ours, byte for byte" % (name, backend, method))
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


def time_all(runs):
    for name, build in ORDERS.items():
        order = build()
        n = runs if name == "example" else max(51, runs // 10)
        for method in METHODS:
            for _ in range(max(20, n // 20)):        # warm-up
                sign_body(order, method)
            samples = []
            for _ in range(n):
                t0 = time.perf_counter()
                sign_body(order, method)
                samples.append(time.perf_counter() - t0)
            print("us %s %s %.2f %d" % (name, method, statistics.median(samples) * 1e6, n))
            sys.stdout.flush()
    return 0


def main(argv):
    if len(argv) >= 3 and argv[1] == "--check":
        return check(argv[2])
    if len(argv) >= 2 and argv[1] == "--time":
        return time_all(int(argv[2]) if len(argv) >= 3 else 1001)
    sys.stderr.write(__doc__)
    return 64


if __name__ == "__main__":
    sys.exit(main(sys.argv))
