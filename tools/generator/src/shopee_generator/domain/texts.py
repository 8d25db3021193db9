"""Short review and chat texts in each market's language and English. Pure data.

Reviews are put together from an opener, one or two aspect phrases (delivery, quality, price,
service) and a closer, each picked to match the sentiment of the rating.
"""

from __future__ import annotations

ASPECTS = ("delivery", "quality", "price", "service")
Sentiment = str  # "pos", "neu" or "neg"
# part of a review ("open", an aspect, "close") -> sentiment -> phrases
Phrasebook = dict[str, dict[Sentiment, tuple[str, ...]]]

_EN: Phrasebook = {
    "open": {
        "pos": ("Love it!", "Very satisfied.", "Great buy."),
        "neu": ("It's okay.", "Not bad."),
        "neg": ("Disappointed.", "Not happy with this.", "Regret buying."),
    },
    "delivery": {
        "pos": ("Fast delivery, arrived in 2 days.", "Shipping was quick and well packed."),
        "neu": ("Delivery took a few days.", "Shipping was average."),
        "neg": ("Delivery was very slow.", "Parcel arrived late and the box was crushed."),
    },
    "quality": {
        "pos": ("Quality is excellent, exactly as described.", "Good material, works perfectly."),
        "neu": ("Quality is acceptable for daily use.", "Item is fine, nothing special."),
        "neg": ("Poor quality, broke after a week.", "Not as described, looks cheap."),
    },
    "price": {
        "pos": ("Great value for money.", "Cheap compared to other shops."),
        "neu": ("Price is fair.", "Price is okay during the sale."),
        "neg": ("Overpriced for this quality.", "Not worth the price."),
    },
    "service": {
        "pos": ("Seller replied fast and was very helpful.", "Friendly seller, will order again."),
        "neu": ("Seller replied eventually.", "Service was okay."),
        "neg": ("Seller never answered my chat.", "Bad service, no response to my complaint."),
    },
    "close": {
        "pos": ("Highly recommended!", "Will buy again.", "Thank you seller!"),
        "neu": ("", "Hope it lasts."),
        "neg": ("Will not buy again.", "Not recommended."),
    },
}

_ID: Phrasebook = {
    "open": {
        "pos": ("Mantap!", "Puas banget.", "Suka sekali!"),
        "neu": ("Lumayan.", "Oke lah."),
        "neg": ("Kecewa.", "Kurang puas.", "Nyesel beli."),
    },
    "delivery": {
        "pos": ("Pengiriman cepat, 2 hari sampai.", "Packing rapi dan aman."),
        "neu": ("Pengiriman agak lama.", "Sampai sesuai estimasi."),
        "neg": ("Pengiriman lama banget.", "Paket telat dan kardusnya penyok."),
    },
    "quality": {
        "pos": ("Kualitas bagus, sesuai deskripsi.", "Barang original, berfungsi dengan baik."),
        "neu": ("Kualitas standar.", "Barang sesuai harga."),
        "neg": ("Kualitas jelek, cepat rusak.", "Tidak sesuai deskripsi."),
    },
    "price": {
        "pos": ("Harga murah, worth it.", "Harga terjangkau, apalagi pas promo."),
        "neu": ("Harga standar.", "Harga oke pas diskon."),
        "neg": ("Kemahalan untuk kualitas segini.", "Harga tidak sebanding."),
    },
    "service": {
        "pos": ("Seller ramah dan fast respon.", "Pelayanan memuaskan."),
        "neu": ("Respon seller agak lambat.", "Pelayanan biasa saja."),
        "neg": ("Chat tidak dibalas.", "Pelayanan buruk, komplain diabaikan."),
    },
    "close": {
        "pos": ("Recommended!", "Bakal order lagi.", "Terima kasih kak!"),
        "neu": ("", "Semoga awet."),
        "neg": ("Tidak akan beli lagi.", "Tidak rekomen."),
    },
}

_MS: Phrasebook = {
    "open": {
        "pos": ("Terbaik!", "Sangat berpuas hati.", "Suka sangat!"),
        "neu": ("Boleh la.", "Okay je."),
        "neg": ("Kecewa.", "Tak puas hati.", "Menyesal beli."),
    },
    "delivery": {
        "pos": ("Penghantaran pantas, sampai dalam 2 hari.", "Bungkusan kemas."),
        "neu": ("Penghantaran agak lambat.", "Sampai ikut jangkaan."),
        "neg": ("Penghantaran sangat lambat.", "Parcel lambat dan kotak remuk."),
    },
    "quality": {
        "pos": ("Kualiti terbaik, sama macam gambar.", "Barang original, berfungsi dengan baik."),
        "neu": ("Kualiti biasa.", "Barang ok untuk harga ni."),
        "neg": ("Kualiti teruk, cepat rosak.", "Tak sama macam dalam gambar."),
    },
    "price": {
        "pos": ("Harga berbaloi.", "Murah masa promosi."),
        "neu": ("Harga berpatutan.", "Harga ok."),
        "neg": ("Mahal untuk kualiti macam ni.", "Tak berbaloi."),
    },
    "service": {
        "pos": ("Seller cepat balas dan peramah.", "Servis terbaik."),
        "neu": ("Seller lambat sikit balas.", "Servis biasa."),
        "neg": ("Seller tak balas chat.", "Servis teruk."),
    },
    "close": {
        "pos": ("Sangat disyorkan!", "Akan beli lagi.", "Terima kasih seller!"),
        "neu": ("", "Harap tahan lama."),
        "neg": ("Tak akan beli lagi.", "Tak recommend."),
    },
}

_FIL: Phrasebook = {
    "open": {
        "pos": ("Sobrang ganda!", "Super satisfied.", "Ang ganda po!"),
        "neu": ("Okay lang.", "Pwede na."),
        "neg": ("Nakakadismaya.", "Hindi ako satisfied.", "Sayang pera."),
    },
    "delivery": {
        "pos": ("Mabilis ang delivery, 2 days lang.", "Maayos ang packaging."),
        "neu": ("Medyo matagal ang delivery.", "Dumating on time."),
        "neg": ("Sobrang tagal ng delivery.", "Late dumating at sira ang box."),
    },
    "quality": {
        "pos": ("Maganda ang quality, same as picture.", "Legit at maayos ang tela."),
        "neu": ("Okay lang ang quality.", "Sakto lang sa presyo."),
        "neg": ("Pangit ang quality, madaling masira.", "Hindi katulad ng nasa picture."),
    },
    "price": {
        "pos": ("Sulit sa presyo!", "Mura lalo na pag sale."),
        "neu": ("Okay ang presyo.", "Sakto ang presyo."),
        "neg": ("Mahal para sa quality.", "Hindi sulit."),
    },
    "service": {
        "pos": ("Mabilis mag-reply si seller.", "Very accommodating si seller."),
        "neu": ("Medyo matagal mag-reply.", "Okay ang service."),
        "neg": ("Hindi nagrereply si seller.", "Pangit ang service."),
    },
    "close": {
        "pos": ("Highly recommended!", "Oorder ulit ako.", "Salamat po seller!"),
        "neu": ("", "Sana tumagal."),
        "neg": ("Hindi na ako oorder ulit.", "Hindi recommended."),
    },
}

_TH: Phrasebook = {
    "open": {
        "pos": ("ชอบมากค่ะ", "ประทับใจมาก", "คุ้มมาก!"),
        "neu": ("โอเคค่ะ", "พอใช้ได้"),
        "neg": ("ผิดหวัง", "ไม่ประทับใจ", "เสียดายเงิน"),
    },
    "delivery": {
        "pos": ("ส่งไวมาก 2 วันถึง", "แพ็คของมาดีมาก"),
        "neu": ("ส่งช้านิดหน่อย", "ได้ของตามกำหนด"),
        "neg": ("ส่งช้ามาก", "ของมาช้าและกล่องบุบ"),
    },
    "quality": {
        "pos": ("คุณภาพดี ตรงปก", "วัสดุดี ใช้งานได้ดี"),
        "neu": ("คุณภาพพอใช้", "สินค้าตามราคา"),
        "neg": ("คุณภาพแย่ พังเร็ว", "ไม่ตรงปก"),
    },
    "price": {
        "pos": ("ราคาคุ้มค่า", "ราคาถูกช่วงโปร"),
        "neu": ("ราคาโอเค", "ราคาสมเหตุสมผล"),
        "neg": ("แพงเกินไปสำหรับคุณภาพนี้", "ไม่คุ้มราคา"),
    },
    "service": {
        "pos": ("ร้านตอบแชทไว บริการดี", "แม่ค้าน่ารักมาก"),
        "neu": ("ร้านตอบช้านิดหน่อย", "บริการปกติ"),
        "neg": ("ร้านไม่ตอบแชทเลย", "บริการแย่มาก"),
    },
    "close": {
        "pos": ("แนะนำเลยค่ะ", "จะกลับมาซื้ออีก", "ขอบคุณร้านค้าค่ะ"),
        "neu": ("", "หวังว่าจะใช้ได้นาน"),
        "neg": ("ไม่ซื้ออีกแล้ว", "ไม่แนะนำ"),
    },
}

_VI: Phrasebook = {
    "open": {
        "pos": ("Rất hài lòng!", "Tuyệt vời!", "Mua lần hai rồi, vẫn thích."),
        "neu": ("Tạm ổn.", "Cũng được."),
        "neg": ("Thất vọng.", "Không hài lòng.", "Phí tiền."),
    },
    "delivery": {
        "pos": ("Giao hàng nhanh, 2 ngày là nhận.", "Đóng gói cẩn thận."),
        "neu": ("Giao hàng hơi lâu.", "Nhận hàng đúng hẹn."),
        "neg": ("Giao hàng quá chậm.", "Hàng đến trễ, hộp bị móp."),
    },
    "quality": {
        "pos": ("Chất lượng tốt, đúng mô tả.", "Hàng chính hãng, dùng rất ổn."),
        "neu": ("Chất lượng bình thường.", "Tiền nào của nấy."),
        "neg": ("Chất lượng kém, nhanh hỏng.", "Không giống mô tả."),
    },
    "price": {
        "pos": ("Giá hợp lý, đáng tiền.", "Giá rẻ khi có khuyến mãi."),
        "neu": ("Giá ổn.", "Giá tạm được."),
        "neg": ("Giá quá đắt so với chất lượng.", "Không đáng tiền."),
    },
    "service": {
        "pos": ("Shop trả lời nhanh, nhiệt tình.", "Shop tư vấn rất chu đáo."),
        "neu": ("Shop trả lời hơi chậm.", "Dịch vụ bình thường."),
        "neg": ("Shop không trả lời tin nhắn.", "Dịch vụ tệ."),
    },
    "close": {
        "pos": ("Rất đáng mua!", "Sẽ ủng hộ shop tiếp.", "Cảm ơn shop!"),
        "neu": ("", "Hy vọng dùng bền."),
        "neg": ("Sẽ không mua lại.", "Không khuyến khích mua."),
    },
}

REVIEWS: dict[str, Phrasebook] = {
    "en": _EN,
    "id": _ID,
    "ms": _MS,
    "fil": _FIL,
    "th": _TH,
    "vi": _VI,
}

# Chat lines: what buyers ask before and after buying, and how the shop answers.
CHATS: dict[str, dict[str, tuple[str, ...]]] = {
    "en": {
        "pre_sale": (
            "Hi, is this still in stock?",
            "Is this original?",
            "Can you ship today?",
            "Do you have this in another colour?",
        ),
        "post_sale": (
            "Hi, when will my order be shipped?",
            "My parcel has not arrived yet, please check.",
            "Can I change my delivery address?",
        ),
        "follow_up": ("Okay, thank you.", "Noted, thanks!", "How many days more?"),
        "seller": (
            "Hi! Yes, it is available. Feel free to order.",
            "Hello, your order will ship today.",
            "Thanks for waiting, we have checked your order.",
            "Hi! All our items are 100% original.",
        ),
        "bot": ("Hi! Thanks for your message. We will reply as soon as possible.",),
    },
    "id": {
        "pre_sale": (
            "Kak, ready stok?",
            "Ini original kak?",
            "Bisa kirim hari ini kak?",
            "Ada warna lain kak?",
        ),
        "post_sale": (
            "Kak, pesanan saya kapan dikirim?",
            "Paket belum sampai kak, tolong dicek.",
            "Bisa ganti alamat pengiriman kak?",
        ),
        "follow_up": ("Oke kak, makasih.", "Siap kak!", "Berapa hari lagi kak?"),
        "seller": (
            "Halo kak, ready ya, silakan diorder.",
            "Halo kak, pesanan dikirim hari ini ya.",
            "Terima kasih sudah menunggu kak, sudah kami cek.",
            "Semua produk kami original kak.",
        ),
        "bot": ("Halo kak! Terima kasih sudah menghubungi kami, chat akan segera dibalas.",),
    },
    "ms": {
        "pre_sale": (
            "Hi, ada stok lagi?",
            "Ni original ke?",
            "Boleh pos hari ni?",
            "Ada warna lain tak?",
        ),
        "post_sale": (
            "Bila order saya akan dihantar?",
            "Parcel belum sampai, tolong semak.",
            "Boleh tukar alamat penghantaran?",
        ),
        "follow_up": ("Ok, terima kasih.", "Baik, noted!", "Berapa hari lagi?"),
        "seller": (
            "Hi! Ada stok, boleh order ya.",
            "Hi, order akan dipos hari ini.",
            "Terima kasih kerana menunggu, kami sudah semak.",
            "Semua barang kami original.",
        ),
        "bot": ("Hi! Terima kasih atas mesej anda. Kami akan balas secepat mungkin.",),
    },
    "fil": {
        "pre_sale": (
            "Hi po, available pa po ba?",
            "Original po ba ito?",
            "Pwede po ba ma-ship today?",
            "May ibang kulay po ba?",
        ),
        "post_sale": (
            "Kailan po ma-ship ang order ko?",
            "Hindi pa po dumadating ang parcel ko.",
            "Pwede pa po bang palitan ang address?",
        ),
        "follow_up": ("Sige po, salamat.", "Noted po!", "Ilang araw pa po?"),
        "seller": (
            "Hi po! Available pa po, order na po kayo.",
            "Hello po, ma-ship po today ang order niyo.",
            "Salamat po sa paghihintay, na-check na po namin.",
            "100% original po lahat ng items namin.",
        ),
        "bot": ("Hi! Salamat sa message. Magrereply kami agad.",),
    },
    "th": {
        "pre_sale": ("สินค้ายังมีไหมคะ", "ของแท้ไหมคะ", "ส่งวันนี้ได้ไหมคะ", "มีสีอื่นไหมคะ"),
        "post_sale": (
            "ออเดอร์จะส่งเมื่อไหร่คะ",
            "ยังไม่ได้รับของเลยค่ะ ช่วยเช็คให้หน่อย",
            "ขอเปลี่ยนที่อยู่จัดส่งได้ไหมคะ",
        ),
        "follow_up": ("โอเคค่ะ ขอบคุณค่ะ", "รับทราบค่ะ", "อีกกี่วันคะ"),
        "seller": (
            "สวัสดีค่ะ สินค้ามีพร้อมส่งค่ะ",
            "ออเดอร์จะจัดส่งวันนี้นะคะ",
            "ขอบคุณที่รอค่ะ ร้านเช็คให้แล้วนะคะ",
            "สินค้าของร้านเป็นของแท้ 100% ค่ะ",
        ),
        "bot": ("สวัสดีค่ะ ขอบคุณที่ทักมา ร้านจะรีบตอบกลับนะคะ",),
    },
    "vi": {
        "pre_sale": (
            "Shop ơi, còn hàng không ạ?",
            "Hàng chính hãng không shop?",
            "Hôm nay gửi được không ạ?",
            "Có màu khác không shop?",
        ),
        "post_sale": (
            "Khi nào đơn của em được gửi ạ?",
            "Em chưa nhận được hàng, shop kiểm tra giúp.",
            "Em đổi địa chỉ giao hàng được không ạ?",
        ),
        "follow_up": ("Dạ, cảm ơn shop.", "Dạ em biết rồi ạ.", "Mấy ngày nữa ạ?"),
        "seller": (
            "Dạ còn hàng ạ, bạn đặt nhé.",
            "Dạ đơn sẽ được gửi trong hôm nay ạ.",
            "Cảm ơn bạn đã chờ, shop đã kiểm tra rồi ạ.",
            "Hàng bên shop chính hãng 100% ạ.",
        ),
        "bot": ("Xin chào! Cảm ơn bạn đã nhắn tin, shop sẽ phản hồi sớm nhất.",),
    },
}

CANCEL_REASONS = (
    "Unpaid order auto-cancelled",
    "Change of mind",
    "Found a cheaper price elsewhere",
    "Need to change delivery address",
    "Seller did not ship in time",
)
RETURN_REASONS = ("Damaged item", "Wrong size or variant", "Item not as described", "Missing parts")
