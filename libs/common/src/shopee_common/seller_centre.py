"""The Shopee Seller Centre export file formats: the one place their columns are named.

Seller Centre exports come in the seller's language and its column order changes between
versions, so each logical column lists every header it is known by: English and Indonesian, and
for the orders export also Thai and Vietnamese (headers and status words as public parsers of real
Thai and Vietnamese exports spell them). Ingest reads files with it; the demo generator writes
files with the first, English header of each.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass


@dataclass(frozen=True)
class Column:
    key: str
    headers: tuple[str, ...]
    required: bool = False

    @property
    def header(self) -> str:
        """The header the generator writes (the English one)."""
        return self.headers[0]


@dataclass(frozen=True)
class ExportFormat:
    name: str
    description: str
    columns: tuple[Column, ...]

    def header_index(self) -> dict[str, str]:
        """Normalised header -> column key."""
        return {normalise_header(h): c.key for c in self.columns for h in c.headers}


def _folded(text: str) -> str:
    """Case-folded, in canonical (NFC) form: Vietnamese typed with precomposed letters ("ã") and
    the same text saved decomposed ("a" + "◌̃") read the same."""
    return unicodedata.normalize("NFC", unicodedata.normalize("NFD", text).casefold())


def normalise_header(header: str) -> str:
    """Case-, space- and punctuation-insensitive form of a header ("Order ID " == "order id").

    Combining marks (Unicode category M*) stay with the letters they belong to: Thai writes most
    vowels and every tone mark as one ("ชื่อ" is ช + ◌ื + ◌่ + อ), and dropping them would make
    different words one.
    """
    return "".join(
        ch for ch in _folded(header) if ch.isalnum() or unicodedata.category(ch).startswith("M")
    )


# One row per order line (an order with three products is three rows sharing the Order ID).
# Headers: English, Indonesian, Thai, Vietnamese. A column lists no Thai or Vietnamese header when
# that export has none for it (product id, seller discount total; voucher code in Vietnamese) or
# when one cannot be told apart: the Vietnamese export has two grand totals whose headers differ
# only in case ("Tổng số tiền Người mua thanh toán" per line, "... người mua ..." per order).
ORDERS = ExportFormat(
    name="orders",
    description="Seller Centre > My Orders > Export (Order.all.*.xlsx / .csv)",
    columns=(
        Column(
            "order_id",
            ("Order ID", "No. Pesanan", "หมายเลขคำสั่งซื้อ", "Mã đơn hàng"),
            required=True,
        ),
        Column(
            "status",
            ("Order Status", "Status Pesanan", "สถานะการสั่งซื้อ", "Trạng Thái Đơn Hàng"),
            required=True,
        ),
        Column(
            "cancel_reason",
            ("Cancel reason", "Alasan Pembatalan", "เหตุผลในการยกเลิกคำสั่งซื้อ", "Lý do hủy"),
        ),
        Column(
            "return_status",
            (
                "Return / Refund Status",
                "Status Pembatalan/ Pengembalian",
                "สถานะการคืนเงินหรือคืนสินค้า",
                "Trạng thái Trả hàng/Hoàn tiền",
            ),
        ),
        Column(
            "created_at",
            ("Order Creation Date", "Waktu Pesanan Dibuat", "วันที่ทำการสั่งซื้อ", "Ngày đặt hàng"),
            required=True,
        ),
        Column(
            "paid_at",
            (
                "Order Paid Time",
                "Waktu Pembayaran Dilakukan",
                "เวลาการชำระสินค้า",
                "Thời gian đơn hàng được thanh toán",
            ),
        ),
        Column(
            "completed_at",
            (
                "Order Complete Time",
                "Waktu Pesanan Selesai",
                "เวลาที่ทำการสั่งซื้อสำเร็จ",
                "Thời gian hoàn thành đơn hàng",
            ),
        ),
        Column("product_id", ("Product ID", "ID Produk")),
        Column(
            "sku",
            (
                "SKU Reference No.",
                "Nomor Referensi SKU",
                "เลขอ้างอิง SKU (SKU Reference No.)",
                "SKU phân loại hàng",
            ),
        ),
        Column(
            "parent_sku",
            ("Parent SKU Reference No.", "SKU Induk", "เลขอ้างอิง Parent SKU", "SKU sản phẩm"),
        ),
        Column(
            "product_name",
            ("Product Name", "Nama Produk", "ชื่อสินค้า", "Tên sản phẩm"),
            required=True,
        ),
        Column("original_price", ("Original Price", "Harga Awal", "ราคาตั้งต้น", "Giá gốc")),
        Column(
            "deal_price",
            ("Deal Price", "Harga Setelah Diskon", "ราคาขาย", "Giá ưu đãi"),
            required=True,
        ),
        Column("quantity", ("Quantity", "Jumlah", "จำนวน", "Số lượng"), required=True),
        Column("seller_discount", ("Total Discount(Seller)", "Diskon Dari Penjual")),
        Column(
            "seller_voucher",
            (
                "Seller Voucher",
                "Voucher Ditanggung Penjual",
                "โค้ดส่วนลดชำระโดยผู้ขาย",
                "Mã giảm giá của Shop",
            ),
        ),
        Column(
            "shopee_voucher",
            (
                "Shopee Voucher",
                "Voucher Ditanggung Shopee",
                "โค้ดส่วนลดชำระโดย Shopee (เช่น โค้ดจากโปรแกรม ร้านโค้ดคุ้ม, โค้ดส่วนลด Shopee,"
                " โค้ดส่วนลด Shopee Mall)",
                "Mã giảm giá của Shopee",
            ),
        ),
        Column("voucher_code", ("Voucher Code", "Kode Voucher", "โค้ดส่วนลด")),
        Column(
            "shipping_fee",
            (
                "Buyer Paid Shipping Fee",
                "Ongkos Kirim Dibayar oleh Pembeli",
                "ค่าจัดส่งที่ชำระโดยผู้ซื้อ",
                "Phí vận chuyển mà người mua trả",
            ),
        ),
        Column("grand_total", ("Grand Total", "Total Pembayaran", "จำนวนเงินทั้งหมด")),
        Column(
            "buyer",
            ("Username (Buyer)", "Username (Pembeli)", "ชื่อผู้ใช้ (ผู้ซื้อ)", "Người Mua"),
            required=True,
        ),
    ),
)

# One row per day (Business Insights > Traffic / Shop performance export).
TRAFFIC = ExportFormat(
    name="traffic",
    description="Seller Centre > Business Insights > Traffic overview export",
    columns=(
        Column("date", ("Date", "Tanggal"), required=True),
        Column("visitors", ("Visitors", "Pengunjung"), required=True),
        Column("page_views", ("Page Views", "Halaman Dilihat"), required=True),
        Column("product_views", ("Product Views", "Produk Dilihat")),
        Column(
            "add_to_cart_visitors", ("Visitors Added to Cart", "Pengunjung Menambah ke Keranjang")
        ),
        Column("buyers", ("Buyers", "Pembeli")),
        Column("orders", ("Orders", "Pesanan")),
        Column("sales", ("Sales", "Penjualan")),
    ),
)

FORMATS = {ORDERS.name: ORDERS, TRAFFIC.name: TRAFFIC}

# Seller Centre status words -> OrderStatus enum names, as the cell reads after casefold() and
# strip. English first (the generator writes the first word of each status), then Indonesian, Thai
# and Vietnamese. "Delivered" words (จัดส่งสำเร็จแล้ว, Đã giao) are SHIPPED: Shopee completes an
# order only after the buyer's return window.
ORDER_STATUSES = {
    "unpaid": "ORDER_STATUS_CREATED",
    "belum bayar": "ORDER_STATUS_CREATED",
    "to ship": "ORDER_STATUS_PAID",
    "perlu dikirim": "ORDER_STATUS_PAID",
    "shipping": "ORDER_STATUS_SHIPPED",
    "shipped": "ORDER_STATUS_SHIPPED",
    "dikirim": "ORDER_STATUS_SHIPPED",
    "completed": "ORDER_STATUS_COMPLETED",
    "selesai": "ORDER_STATUS_COMPLETED",
    "cancelled": "ORDER_STATUS_CANCELLED",
    "batal": "ORDER_STATUS_CANCELLED",
    "dibatalkan": "ORDER_STATUS_CANCELLED",
    "return/refund": "ORDER_STATUS_RETURNED",
    "returned": "ORDER_STATUS_RETURNED",
    "pengembalian": "ORDER_STATUS_RETURNED",
    "ที่ต้องจัดส่ง": "ORDER_STATUS_PAID",
    "การจัดส่ง": "ORDER_STATUS_SHIPPED",
    "กำลังจัดส่ง": "ORDER_STATUS_SHIPPED",
    "จัดส่งสำเร็จแล้ว": "ORDER_STATUS_SHIPPED",
    "สำเร็จแล้ว": "ORDER_STATUS_COMPLETED",
    "ยกเลิกแล้ว": "ORDER_STATUS_CANCELLED",
    "đang giao": "ORDER_STATUS_SHIPPED",
    "đã giao": "ORDER_STATUS_SHIPPED",
    "hoàn thành": "ORDER_STATUS_COMPLETED",
    "đã hủy": "ORDER_STATUS_CANCELLED",
}

# Statuses whose cell goes on with a notice dated by the order ("ผู้ซื้อได้รับสินค้าแล้ว โปรดทราบว่า
# ผู้ซื้อสามารถยื่นคำขอคืนเงิน/คืนสินค้าได้จนถึง 2026-06-07"; "Người mua xác nhận đã nhận được hàng,
# tuy nhiên ... tới ngày 2026-09-10."): the buyer has the order and may still ask for a return,
# so SHIPPED. Matched by their start, as a fresh date every day makes a new cell.
ORDER_STATUS_PREFIXES = {
    "ผู้ซื้อได้รับสินค้าแล้ว": "ORDER_STATUS_SHIPPED",
    "người mua xác nhận đã nhận được hàng": "ORDER_STATUS_SHIPPED",
}


def order_status(cell: str) -> str | None:
    """The OrderStatus enum name of a status cell (case and Unicode form aside), None if unknown."""
    word = _folded(cell.strip())
    if word in ORDER_STATUSES:
        return ORDER_STATUSES[word]
    return next((s for prefix, s in ORDER_STATUS_PREFIXES.items() if word.startswith(prefix)), None)


# Date formats seen in Seller Centre files, tried in order.
DATE_FORMATS = (
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%d",
    "%d-%m-%Y %H:%M:%S",
    "%d-%m-%Y %H:%M",
    "%d-%m-%Y",
    "%d/%m/%Y %H:%M:%S",
    "%d/%m/%Y %H:%M",
    "%d/%m/%Y",
    "%Y/%m/%d %H:%M",
    "%Y/%m/%d",
    "%d.%m.%Y",
)
