"""The Shopee Seller Centre export file formats: the one place their columns are named.

Seller Centre exports come in the seller's language and its column order changes between
versions, so each logical column lists every header it is known by (English and Indonesian).
Ingest reads files with it; the demo generator writes files with the first header of each.
"""

from __future__ import annotations

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


def normalise_header(header: str) -> str:
    """Case-, space- and punctuation-insensitive form of a header ("Order ID " == "order id")."""
    return "".join(ch for ch in header.casefold() if ch.isalnum())


# One row per order line (an order with three products is three rows sharing the Order ID).
ORDERS = ExportFormat(
    name="orders",
    description="Seller Centre > My Orders > Export (Order.all.*.xlsx / .csv)",
    columns=(
        Column("order_id", ("Order ID", "No. Pesanan"), required=True),
        Column("status", ("Order Status", "Status Pesanan"), required=True),
        Column("cancel_reason", ("Cancel reason", "Alasan Pembatalan")),
        Column("return_status", ("Return / Refund Status", "Status Pembatalan/ Pengembalian")),
        Column("created_at", ("Order Creation Date", "Waktu Pesanan Dibuat"), required=True),
        Column("paid_at", ("Order Paid Time", "Waktu Pembayaran Dilakukan")),
        Column("completed_at", ("Order Complete Time", "Waktu Pesanan Selesai")),
        Column("product_id", ("Product ID", "ID Produk")),
        Column("sku", ("SKU Reference No.", "Nomor Referensi SKU")),
        Column("parent_sku", ("Parent SKU Reference No.", "SKU Induk")),
        Column("product_name", ("Product Name", "Nama Produk"), required=True),
        Column("original_price", ("Original Price", "Harga Awal")),
        Column("deal_price", ("Deal Price", "Harga Setelah Diskon"), required=True),
        Column("quantity", ("Quantity", "Jumlah"), required=True),
        Column("seller_discount", ("Total Discount(Seller)", "Diskon Dari Penjual")),
        Column("seller_voucher", ("Seller Voucher", "Voucher Ditanggung Penjual")),
        Column("shopee_voucher", ("Shopee Voucher", "Voucher Ditanggung Shopee")),
        Column("voucher_code", ("Voucher Code", "Kode Voucher")),
        Column("shipping_fee", ("Buyer Paid Shipping Fee", "Ongkos Kirim Dibayar oleh Pembeli")),
        Column("grand_total", ("Grand Total", "Total Pembayaran")),
        Column("buyer", ("Username (Buyer)", "Username (Pembeli)"), required=True),
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

# Seller Centre status words (English and Indonesian) -> OrderStatus enum names.
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
}

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
