"""The patterns ``mask.mask_text`` uses: keywords, separators and values. The rules
they follow are in ``mask``'s docstring; this module only spells them."""

from __future__ import annotations

import re

_IS = r"(?:is|was|are|是|为|為)"
# Between a keyword and its value: "is", a colon or both ("验证码是：", "code was:"), a line
# break only after a colon ("Verification code:\n482913"), and an opening bracket or
# quote ("验证码：【482913】", "code (482913)"). "|" and a tab are what an HTML mail's
# table cells become as text ("验证码| 918273").
_OPEN = "[\\[【(（「『\"“'‘<《]"
_CLOSE = "[\\]】)）」』\"”'’>》]"
_COLON = r"(?:[:：=|\t][ \t]*(?:\r?\n[ \t]*)?)"  # a line break may follow a colon
_SEP = rf"[ \t]*(?:{_IS}[ \t]*)?(?:{_COLON}|[#-][ \t]*)?{_OPEN}?[ \t]*"
# A few words between the keyword and "is"/"was"/a colon: "the OTP I got was 771903",
# "verification code I received: 482913". After an explicit one-time-code keyword up to
# five, numbers among them: "OTP sent to my phone was 482913", "OTP for txn of INR 500
# is 482913"; after "code" alone three words ("code for order 1234 is E1024" is evidence).
_IS_AFTER = r"[ \t]*(?:(?:is|was)(?![A-Za-z])[ \t]*[:：]?|[:：])[ \t]*"
_WORDS_IS = rf"(?:[ \t]+(?!(?:is|was)(?![A-Za-z]))[A-Za-z']{{1,12}}){{1,3}}?{_IS_AFTER}"
_MORE_WORDS_IS = rf"(?:[ \t]+(?!(?:is|was)(?![A-Za-z]))[A-Za-z0-9']{{1,12}}){{1,5}}?{_IS_AFTER}"
# A keyword alone on its line, its value alone on the next (after at most one blank
# line): "Password\n\nZx8!pq77", as an HTML mail's table or definition list reads.
_NEXT_LINE = r"[ \t]*[:：]?[ \t]*\r?\n(?:[ \t]*\r?\n)?[ \t]*"
_ALONE = r"(?=[ \t]*(?:\r?\n|$))"
# A note in brackets after the keyword: "支付密码（6位）：", "安全码(CVV)："
_NOTE = r"(?:[ \t]*[(（][^)）\n]{1,10}[)）])?"
_EN = r"(?<![A-Za-z])"  # an English keyword starts at a non-letter (CJK, digit, start)
# "TAC": a transaction authorisation code, the one-time code of many Asian banks' SMS.
# "安全码" is a card's CVV (three digits, below) or an app's security code (more).
_OTP_WORDS = (
    rf"{_EN}(?:otp|one[- ]time (?:code|password|passcode|pin)|verification (?:code|number|no\.?|pin)|sms code|security code|"
    rf"auth(?:entication)? code|confirmation code|dynamic code|authenticator code|(?<!\d)[2m]fa|token|tac(?![A-Za-z]))"
    r"|验证码|驗證碼|动态码|動態碼|校验码|校驗碼|短信码|确认码"
    r"|认证码|認證碼|授权码|授權碼|简讯码|簡訊碼|口令|动态密码|動態密碼|安全码|安全碼"
)
# "OTP code:", "OTP码", "OTP number", "otp no. 482913", "验证码短信 482913"
_OTP_TAIL = r"(?:[ \t]*(?:code|number|no\.?|码|碼|短信|信息|消息)(?![A-Za-z]))?"
# "pw" only as a word of its own ("pw: hunter22"), not a piece of another nor of a
# base64 or uuencoded line ("+PW54mD", "_PW8#K6"). "pass" only before a colon ("pass:
# hunter22"): "pass it on to 2 people" is a verb.
_PASSWORD_WORDS = (
    rf"{_EN}(?:password|passwd|pwd|pw(?<![\d+/_]pw)(?![A-Za-z\d])|pass(?=[ \t]*[:：])|passcode|[tm]-?pin|(?:recovery|backup) (?:code|key)|(?:secret|security)(?: question)? answer|pin(?: code| number| no\.?|码)?)"
    r"|支付密码|登录密码|登錄密碼|交易密码|取款密码|密码|密碼|口令"
)
_CVV_WORDS = rf"{_EN}(?:cvv2?|cvc2?|cvn2?|csc|card security code)|安全码|安全碼"
_CVV_TAIL = r"(?:[ \t]*(?:code|number|no\.?|码|碼|号)(?![A-Za-z]))?"
# No date ("2026-11-19", "2026年") and no amount ("5000元") is a code.
_NOT_DATE = r"(?!(?:19|20)\d\d[ \t]*(?:[-/.年]))"
_NOT_AMOUNT = r"(?![.,]\d)(?![ \t]*(?:[年月日号元块]|yuan|rmb|usd))"
_CODE = rf"{_NOT_DATE}(?:[A-Za-z]-?)?\d(?:[ -]?\d){{3,7}}"
OTP = re.compile(
    rf"(?i)({_OTP_WORDS}){_OTP_TAIL}{_NOTE}(?:{_SEP}|{_MORE_WORDS_IS}{_OPEN}?[ \t]*|{_NEXT_LINE})"
    rf"({_CODE})(?!\d){_NOT_AMOUNT}{_CLOSE}?"
)
# "code" alone with "is"/"was"/a colon or "=" after it (a few words may come between): "My code
# is 660417", "code: 482-913", "?code=482913"; or right before six digits: "the code 482913 did not work",
# "Code 482913 expired". Six digits only there: an error code ("code 1024") has fewer, a
# phone more. The word before "code" decides: "error code: 1001", "error code 482913".
_SIX_DIGITS = rf"{_NOT_DATE}\d(?:[ -]?\d){{5}}"
_BARE = rf"[ \t]*(?:[:：#-][ \t]*)?{_OPEN}?[ \t]*"
# Or six digits in brackets a few words on: "the code they sent me (482913) didn't work",
# unless a word between names what the number is ("the code for order (482913)").
_ID_WORD = (
    r"(?:order|transaction|txn|ref|reference|invoice|id|no|number|case|ticket|account|item)(?![A-Za-z])"
)
_WORDS_BRACKET = rf"(?:[ \t]+(?!{_ID_WORD})[A-Za-z']{{1,12}}){{1,4}}?[ \t]*[(（【\[][ \t]*({_SIX_DIGITS})(?=[ \t]*[)）】\]])"
CODE_WORD = re.compile(
    rf"(?i)(?<![A-Za-z])(codes?)(?:(?:[ \t]*(?:(?:is|was)(?![A-Za-z])[ \t]*[:：]?|[:：=])[ \t]*|{_WORDS_IS})"
    rf"{_OPEN}?[ \t]*({_CODE})|{_BARE}({_SIX_DIGITS})|{_WORDS_BRACKET})(?!\d){_NOT_AMOUNT}{_CLOSE}?"
)
# "SMS 482913", "短信 482913" as "code 482913" (an SMS sender, "SMS 95588", has fewer digits).
# Also retold: "the SMS said 482913", "短信里是 482913".
_SMS_SAID = r"(?:[ \t]+(?:said|says|read|reads|showed|shows|gave|had|contained)(?![A-Za-z])|(?:里|裡|中)?(?:是|为|為))?"
SMS_CODE = re.compile(
    rf"(?i)((?<![A-Za-z])sms(?![A-Za-z])|短信(?:验证)?|簡訊|简讯){_SMS_SAID}{_BARE}({_SIX_DIGITS})(?!\d){_NOT_AMOUNT}{_CLOSE}?"
)
# A code as the text message that brought it reads, pasted or retold: "Use 482913 to
# verify your account", "I received 482913 by SMS", "收到短信验证码后" is no value.
USE_CODE = re.compile(
    r"(?i)((?<![A-Za-z])use)[ \t]+(\d{4,8})(?![\d.,])(?=[ \t]+(?:to|as|for)[ \t]+(?:verify|log|sign|confirm|"
    r"complete|authenticate|authori[sz]e|reset|your|the)(?![A-Za-z]))"
)
CODE_BY_SMS = re.compile(
    r"(?i)(?<![\d.,])()(\d{6})(?![\d.,])(?=[ \t]+(?:by|via|in an?)[ \t]+(?:sms|text)(?![A-Za-z]))"
)
# The code named by its length alone: "the six digits 482913", "the 6-digit number was
# 482913", "6位数字482913" ("6 digits" before a value describes a code, never an amount).
DIGITS_CODE = re.compile(
    r"(?i)((?<![A-Za-z\d])(?:(?:six|6)[- ]digits?(?:[ \t]+(?:code|number|pin))?|(?:6|六)位(?:数字|数|數字|數|码|碼)))"
    rf"(?:[ \t]*(?:is|was|were|are|是|为|為))?[ \t]*[:：]?[ \t]*{_NOT_DATE}(\d(?:[ -]?\d){{5}})(?![\d.,-])"
)
# An answer to a security question, in Chinese: "密保答案：小明", "密保问题答案是北京" (any
# script, to the end of the clause; "密保答案忘了" names no answer).
SECRET_ANSWER_ZH = re.compile(
    r"((?:密保|安全)(?:问题|問題)?答案)[ \t]*(?:(?:是|为|為)[ \t]*[:：]?|[:：])[ \t]*([^\s，。,.;；!！?？]{1,30})"
)
# A wallet's recovery (seed) phrase: a dozen plain words, every one of them the secret,
# so the rest of the line goes, not its first word.
SEED_PHRASE = re.compile(
    r"(?i)((?<![A-Za-z])(?:(?:seed|recovery|secret|backup|mnemonic) phrase|mnemonic)|助记词|助記詞)"
    r"(?:[ \t]*(?:is|was|是|为|為)?[ \t]*[:：][ \t]*|[ \t]+(?:is|was)[ \t]+(?=(?:[A-Za-z]+[ \t,]+){5}))"
    r"([^\r\n]+)"
)
# The word before "code" that makes it evidence staff need, not a secret. An approval
# (authorisation) code is printed on the card receipt a dispute is about.
NOT_A_SECRET_CODE = re.compile(
    r"(?i)(?:error|status|reason|zip|postal|post|sort|area|country|promo|coupon|discount|invite|"
    r"invitation|referral|swift|bic|bank|branch|merchant|product|response|reject|decline|return|"
    r"result|currency|tax|mcc|item|sku|fault|exit|voucher|gift|tracking|qr|transaction|txn|order|"
    r"reference|ref|booking|approval|authori[sz]ation|错误|故障|状态|返回)[ \t]*$"
)
# A second code later in the same sentence as a masked one: "验证码是 482913，后来又收到
# 一个 550127". Six to eight digits alone, no id keyword (号, no., ref) nor money word
# (余额, balance, paid) in between.
OTP_MORE = re.compile(
    r"(?i)(\[masked\](?:(?!号|单|no\.|id|ref|#|order|订单|交易|余额|金额|扣|付|退|元|balance|amount|paid|"
    r"charg|refund|total|sum|rmb|usd|cny)[^。.!?！？\n\[]){0,40}?)"
    rf"(?<![\d.,A-Za-z$¥￥]){_NOT_DATE}(?!(?:19|20)\d\d(?:0[1-9]|1[0-2])[0-3]\d(?!\d))\d{{6,8}}(?![\d.,]){_NOT_AMOUNT}"
)
# The code before its keyword, as most SMS put it: "482913 is your verification code",
# "482913（动态验证码）", "【钱包】482913为您的验证码", "482913 is your Wallet code", and as
# retold: "I typed 482913 as the code". Only with a bracket, "is/为/是" or "as" in between,
# so an amount next to the word stays readable.
_YOURS = r"(?:your|the|my|您的|你的|我的|您|你)"
_BRAND = r"(?:(?!error|错误)[A-Za-z\u4e00-\u9fff]{1,12}[ \t]*)"
OTP_FIRST = re.compile(
    rf"(?i)(?<![A-Za-z0-9.,$¥￥])(?<!\d[ -])({_CODE})(?![\d.,])(?=[ \t]*(?:"
    rf"[(（【\[][ \t]*{_BRAND}{{0,2}}?(?:{_OTP_WORDS})"
    rf"|{_IS}[ \t]*{_YOURS}?[ \t]*{_BRAND}{{0,2}}?(?:{_OTP_WORDS}|{_PASSWORD_WORDS})"
    rf"|{_IS}[ \t]*(?:your|您的|你的)[ \t]*{_BRAND}?(?:code|码)"
    rf"|as[ \t]+(?:(?:the|my|a)[ \t]+)?(?:{_OTP_WORDS}|code|pin)(?![A-Za-z])))"
)
CVV = re.compile(
    rf"(?i)({_CVV_WORDS}){_CVV_TAIL}{_NOTE}{_CVV_TAIL}(?:{_SEP}|{_NEXT_LINE})(\d{{3,4}})(?!\d){_CLOSE}?"
)
# A card's expiry date: "exp 12/27", "valid thru 12/2027", "有效期至 12/27".
EXPIRY = re.compile(
    r"(?i)((?<![A-Za-z])(?:exp(?:iry|iration|ires|ired)?(?: date)?|valid (?:thru|through|until)|good thru)"
    r"(?![A-Za-z])|有效期(?:至|到)?)[ \t]*(?:is|是|为|[:：])?[ \t]*"
    r"(?:0?[1-9]|1[0-2])[ \t]*[/-][ \t]*(?:20)?\d\d(?![\d/])"
)
# "password is 6 digits", "PIN 4 times wrong", "密码 6位": a length or a count, no secret.
_NOT_COUNT = r"(?!\d{1,2}[ \t]*(?:(?:digits?|characters?|chars?|times?|tries|attempts|numbers?)(?![A-Za-z])|位|次|个|個))"
# "my PIN number is rejected", "what my pin number is and ...": a state or a plain word.
_NOT_WORD = (
    r"(?!(?:wrong|incorrect|invalid|not|expired|reset|changed|correct|right|blocked|locked|rejected|"
    r"declined|refused|required|needed|missing|lost|stolen|forgotten|compromised|disabled|suspended|"
    r"and|or|but)(?![A-Za-z]))"
)
# After "is"/a colon the value runs on over a space while the next piece holds a digit or
# a symbol ("password: P@ss w0rd", "my password is: hunter 22"), not over plain words.
_RUN_ON = r"(?:[ ](?=[A-Za-z]*[^A-Za-z \t\r\n])[!-~]+)*"
# A new password set: "密码改成了Abc12345", "密码设置为abc123"; "password (was) changed to
# Hunter22", "changed my password to Hunter22" (after "to" only a value of four or more
# with a digit: "sent my password to my wife", "gave it to 2 people" stay).
_SET_TO = r"(?:改成了?|改为|改為|设置?为|設置?為|设成|設成|换成了?|換成了?)"
_CHANGED_TO = (
    r"(?:[ \t]+(?:(?:was|is|has been|got)[ \t]+)?(?:changed|reset|set|updated))?[ \t]+to(?![A-Za-z])[ \t]*"
)
# A password is any ASCII token after the keyword and a separator; without one it must
# hold a digit ("密码Abc12345"), so "password wrong", "密码错误" stay readable. After
# "是"/a colon a few Chinese words may come first: "密码是生日 900101".
PASSWORD = re.compile(
    rf"(?i)({_PASSWORD_WORDS}){_NOTE}(?:[ \t]*(?:(?:{_IS}|{_SET_TO})[ \t]*{_COLON}?|{_COLON})[ \t]*{_OPEN}?[ \t]*"
    rf"(?![:：=|]){_NOT_WORD}{_NOT_COUNT}([!-~]+{_RUN_ON})"
    rf"|[ \t]*(?:是|为|為|[:：])[ \t]*[\u4e00-\u9fff]{{1,8}}[ \t]*(?=[!-~]*\d){_NOT_COUNT}([!-~]{{4,}})"
    rf"|{_NEXT_LINE}(?=[!-~]*[^A-Za-z\s])(?=[!-~]{{4,}}{_ALONE})([!-~]+)"
    rf"|{_CHANGED_TO}{_OPEN}?[ \t]*(?=[!-~]*\d)(?=[!-~]{{4}})([!-~]+)"
    rf"|[ \t]*{_OPEN}?[ \t]*(?=[!-~]*\d){_NOT_COUNT}([!-~]+)){_CLOSE}?"
)
SECRET_KV = re.compile(r"(?i)(?<![A-Za-z])(password|token|secret|authorization)(\s*[=:]\s*)(\S+)")
# Between the groups of a card or account number: a space or two, a dash (-–—, spaced or
# not), a dot, a slash, an underscore, or a line break.
_GROUP_SEP = r"(?:[ \t]*\r?\n[ \t]*|[ \t]{0,2}[-–—][ \t]{0,2}|[ \t]{1,2}|[./_])"
LIST_SEPARATORS = ",，;；、"
# A card's groups may also be apart by a comma, a semicolon or "、" ("4111,1111,1111,1111",
# "4111, 1111…", "4111、1111…"): mask then wants groups of four and the Luhn check, so a list of numbers or an
# amount ("1,234,567,890,123") is no card. Not for an account, where "账户 1,234,567"
# is a balance.
_CARD_SEP = rf"(?:{_GROUP_SEP}|[{LIST_SEPARATORS}][ ]?)"
_DATE_AHEAD = r"(?!(?:19|20)\d\d[-/.](?:0?[1-9]|1[0-2])[-/.])"
BANK_ACCOUNT = re.compile(
    r"(?i)((?<![A-Za-z])(?:account (?:number|no\.?)|acct(?: no\.?)?|iban)|银行账号|银行卡号|卡号|账号|帳號|账户|帳戶)"
    rf"[ \t]*[:：=#]?[ \t]*(?:是|为)?[ \t]*{_DATE_AHEAD}(\d(?:{_GROUP_SEP}?\d){{7,29}})(?!\d)"
)
# An IBAN anywhere: country, check digits, 11-30 letters and digits (groups of four or
# not); the mod-97 check (in mask) tells it from a random code.
IBAN = re.compile(
    r"[A-Z]{2}(?<![A-Za-z0-9][A-Z]{2})\d{2}(?:[ ]?[A-Z0-9]{4}){2,7}(?:[ ]?[A-Z0-9]{1,3})?(?![A-Za-z0-9])"
)
# An identity document's number after its keyword: Hong Kong and Taiwan ID cards,
# passports, home-return permits, and a mainland number the pattern below misses.
_ID_WORDS = (
    rf"{_EN}(?:id (?:card )?(?:number|no\.?)|identity card(?: number| no\.?)?|hkid|passport(?: number| no\.?)?)"
    r"|身份证号码|身份证号|身份证|身份證號碼|身份證號|身份證|身分證字號|身分證號碼|身分證|身分证字号|身分证号码|身分证"
    r"|证件号码|证件号|證件號碼|證件號|护照号码|护照号|护照|護照號碼|護照號|護照|回乡证|回鄉證|通行证|通行證"
)
ID_AFTER = re.compile(
    rf"(?i)({_ID_WORDS})[ \t]*(?:{_IS}[ \t]*)?(?:{_COLON}|#[ \t]*)?{_OPEN}?[ \t]*"
    r"([A-Za-z]{0,2}[ \t]?\d(?:[ \t]?\d){4,16}[Xx]?(?:[(（][0-9Aa][)）])?)(?!\d)"
)
# A Hong Kong ID card number is unmistakable even without its keyword: "A123456(7)".
HKID = re.compile(r"(?<![A-Za-z0-9])[A-Z]{1,2}\d{6}[(（][0-9A][)）]")
# A Taiwan ID card number without its keyword: a letter, 1 or 2 (the sex), eight digits;
# masked only when its check digit holds (mask), so an order id "P123456788" stays.
TW_ID = re.compile(r"[A-Z](?<![A-Za-z0-9][A-Z])[12]\d{8}(?!\d)")
# Mainland resident ID, its 6-8-4 parts written together or apart ("110105 19491231 002X").
CN_ID = re.compile(
    r"(?<!\d)\d{6}([ -]?)(?:18|19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\1\d{3}[\dXx](?![\d])"
)
DIGIT = re.compile(r"\d")
# A code read out in words, as a phone scammer asks for it: "four eight two nine one
# three". Four or more digit words in a row are a number, never prose; masked wherever
# they stand, as digits written as Chinese numerals are (fold).
_DIGIT_WORD = r"(?:zero|one|two|three|four|five|six|seven|eight|nine)"
SPELLED_DIGITS = re.compile(rf"(?i)(?<![A-Za-z]){_DIGIT_WORD}(?:[ \t,.-]+{_DIGIT_WORD}){{3,11}}(?![A-Za-z])")
# Digits written as Chinese numerals ("验证码是四八二九一三", "四八二９１３"): from a numeral,
# two numerals or more and digits among them; mask reads runs of four or more (digits
# just before counted) as digits, so a lone "一" of "一直" or "七八个" stays a word. Spaces
# only one between every two ("四 八 二 九"): in "四八二 一直" the "一" is a word.
# The financial ("capital") numerals too: 壹贰叁 as on a cheque ("验证码是肆捌贰玖壹叁").
CN_NUMERALS = "〇○零一二三四五六七八九壹贰貳叁參肆伍陆陸柒捌玖"
_CN_OR_DIGIT = rf"[\d{CN_NUMERALS}]"
CN_NUMERAL_RUN = re.compile(
    rf"[{CN_NUMERALS}](?:\d*[{CN_NUMERALS}]{_CN_OR_DIGIT}*|(?: {_CN_OR_DIGIT}){{3,}}(?!{_CN_OR_DIGIT}))"
)
# The full-width characters mask folds (its _HALF_WIDTH): most texts hold none, and a
# search for them costs less than translating a text that needs none.
WIDE = re.compile("[\uff0b\uff0d\uff10-\uff19\uff21-\uff3a\uff41-\uff5a\u3000]")
# A run of digit groups that may hold a card number: the groups are cut into cards in
# mask. Never glued to a capital letter ("TX2026111900042": an id; "account4111..." is
# a card typed without its space) nor after a
# digit and a dot or comma ("1,288.00"); "card no.5555555555554444" is a card.
# (The digit is tested first, the lookbehinds after it: a faster scan. The lookahead
# wants 13 digits, so a date or an amount costs no call into mask; it tries a digit
# before a separator, the common case.)
DIGIT_RUN = re.compile(rf"\d(?<![\dA-Z]\d)(?<!\d[.,]\d)(?=(?:\d|{_CARD_SEP}\d){{12}})\d*(?:{_CARD_SEP}\d+)*")
GROUP = re.compile(r"\d+")
# Before a number that is an order's, a transaction's or a reference's, not a card's:
# it is a card only if it passes the Luhn check.
ID_BEFORE = re.compile(
    r"(?i)(?:订单号|订单编号|订单|交易号|交易单号|流水号|商户单号|参考号|退款单号|单号|"
    r"(?<![A-Za-z])(?:order|transaction|txn|ref|reference|utr|rrn|arn|trace|invoice)"
    r"(?: (?:id|no\.?|number|ref|reference|#))?)[ \t]*(?:is|是|为|[:：#])?[ \t]*$"
)
# Not inside a longer group of digits ("6222 13812345678 1"): that is a card, masked next.
PHONE_CN = re.compile(r"(?<!\d)(?<!\d[ -])(?:\+?86[ -]?)?1[3-9]\d[ -]?\d{4}[ -]?\d{4}(?!\d)(?![ -]\d)")
PHONE_INTL = re.compile(r"(?<![\w+])\+\d{1,3}[ -]?\(?\d{2,4}\)?[ -]?\d{3,4}[ -]?\d{3,4}(?!\d)")
# Keywords right before a value that mean "this is a secret" (evidence never takes it).
SECRET_BEFORE = re.compile(
    rf"(?i)(?:{_OTP_WORDS}|{_PASSWORD_WORDS}|{_CVV_WORDS})\W{{0,3}}(?:is|是|为)?\W{{0,2}}$"
)
