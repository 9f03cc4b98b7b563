#!/usr/bin/env python3
"""Writes the seed corpora in fuzz/corpus/fuzz_<harness>/ (run from anywhere).

The seeds are small, valid or nearly valid inputs: the example order, the
gateway's answers as docs/protocol.md describes them, and HTTP responses framed
each way. The
fuzzer mutates them; `make fuzz-regress` also runs every seed once."""
import json, os

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

ACCEPTED = ('{"alibaba_finance_insurance_icbu_insure_order_callback_response":{"result":'
            '{"success":true,"insure_id":"111111","error_code":"","error_msg":""},'
            '"request_id":"z29ay0xkq1ha"}}')
REFUSED = ('{"alibaba_finance_insurance_icbu_insure_order_callback_response":{"result":'
           '{"success":false,"error_code":"PARAM_ERROR","error_msg":"\\u53c2\\u6570\\u9519\\u8bef"},'
           '"request_id":"abc"}}')
SIMPLIFIED = '{"result":{"success":true,"insure_id":"42"},"request_id":"r1"}'
PLATFORM = ('{"error_response":{"code":25,"msg":"Invalid signature","sub_code":"isv.invalid-signature",'
            '"sub_msg":"bad","request_id":"5a3f"}}')
UNKNOWN = ('{"error_response":{"code":7,"msg":"App Call Limited","extra":{"a":[1,2.5e3,null,{"b":[]}],'
           '"c":"\\ud83d\\ude00"},"request_id":"x"},"trace":[true,false]}')


def order_json():
    for p in ("tests/data/example_order.json", "examples/order.json"):
        f = os.path.join(ROOT, p)
        if os.path.exists(f):
            return open(f, "rb").read()
    return b'{"external_biz_id":"12345","amount":10}'


def http(body, framing="length", status="200 OK", extra=""):
    b = body.encode() if isinstance(body, str) else body
    head = "HTTP/1.1 %s\r\nContent-Type: application/json;charset=UTF-8\r\nServer: Tengine\r\n%s" % (status, extra)
    if framing == "length":
        return (head + "Content-Length: %d\r\n\r\n" % len(b)).encode() + b
    if framing == "chunked":
        out = (head + "Transfer-Encoding: chunked\r\n\r\n").encode()
        for i in range(0, len(b), 37):
            c = b[i:i + 37]
            out += ("%x\r\n" % len(c)).encode() + c + b"\r\n"
        return out + b"0\r\nX-Trailer: 1\r\n\r\n"
    return (head + "Connection: close\r\n\r\n").encode() + b


def prefix(cap, pieces=b"", clock=False, err_end=False):
    flags = len(pieces) | (16 if clock else 0) | (32 if err_end else 0)
    c = cap - 1
    return bytes([c >> 8 & 0xFF, c & 0xFF, flags]) + pieces


def write(harness, name, data):
    d = os.path.join(HERE, "corpus", "fuzz_" + harness)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


def main():
    order = order_json()
    minimal = json.dumps({"external_biz_id": "12345", "amount": 10, "major_order": True,
                          "insure_time": "2022-10-11 00:00:00",
                          "subject_matter_info": {"goods_item_list": [{"item_url_list": ["a", None]}, {}]},
                          "applicant": {"customer_id": {"ali_id": 3664297069}, "name": "\u5f20\u4e09"},
                          "memo": "tab\there \"quoted\" \\ \u00e9 \U0001f600"},
                         ensure_ascii=False).encode()
    escaped = json.dumps(json.loads(order.decode()), ensure_ascii=True).encode()
    for h in ("decode", "roundtrip"):
        write(h, "example_order.json", order)
        write(h, "minimal.json", minimal)
        write(h, "ascii_escaped.json", escaped)
        write(h, "empty_object.json", "{}")
        write(h, "nulls.json", '{"insured":null,"amount":null,"memo":null,"subject_matter_info":{"goods_item_list":[]}}')
    write("decode", "unknown_field.json", '{"amount":1,"nope":2}')
    write("decode", "bad_date.json", '{"insure_time":"2023-02-29 00:00:00"}')
    for name, body in (("accepted", ACCEPTED), ("refused", REFUSED), ("simplified", SIMPLIFIED),
                       ("platform_error", PLATFORM), ("unknown_fields", UNKNOWN)):
        write("response", name + ".json", body)
    write("response", "xml.txt", "<error_response><code>25</code></error_response>")
    write("http", "length", prefix(4096) + http(ACCEPTED))
    write("http", "length_pieces", prefix(4096, bytes([0, 6, 1, 40]), clock=True) + http(PLATFORM))
    write("http", "chunked", prefix(4096) + http(REFUSED, "chunked"))
    write("http", "chunked_small_arena", prefix(300, bytes([3, 9])) + http(SIMPLIFIED, "chunked"))
    write("http", "close_delimited", prefix(2048, bytes([17])) + http(UNKNOWN, "close"))
    write("http", "status_503", prefix(1024) + http("busy", status="503 Service Unavailable"))
    write("http", "timeout", prefix(4096, bytes([20, 255]), clock=True) + http(ACCEPTED))
    write("http", "reset", prefix(4096, b"", err_end=True) + http(ACCEPTED, "close"))


if __name__ == "__main__":
    main()
