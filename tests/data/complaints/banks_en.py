"""English phrase banks for the generated complaint mails (written for this project).

BANKING77 already carries short English messages for six categories; these add
mail-shaped complaints, and the two categories it lacks (privacy,
customer_service) plus complaint-style "other" mail. ``A`` builds training mails,
``B`` held-out ones, from disjoint wording. Slots as in banks_zh.
"""

from __future__ import annotations

CORE_A: dict[str, list[str]] = {
    "account_locked": [
        "my account has been frozen since {date} and I cannot do anything",
        "my wallet is limited, I cannot withdraw or pay",
        "the app says my account is suspended pending review",
        "I entered the wrong PIN a few times and now I am locked out",
        "I can't log in, it keeps saying my account is restricted",
        "my account was deactivated without any explanation",
    ],
    "transaction_failed": [
        "my payment at {merchant} failed three times",
        "the transfer of {amt} to {who} was declined with an error",
        "top up keeps failing with error code 5012",
        "I could not pay my bill, the app just shows 'transaction failed'",
        "card payment rejected although I have enough balance",
        "checkout at {merchant} does not go through",
    ],
    "wrong_charge": [
        "I was charged twice for one purchase at {merchant}",
        "there is a fee of {amt} I never agreed to",
        "the exchange rate you applied is far worse than advertised",
        "you keep billing me for a subscription I cancelled",
        "the amount taken is higher than my receipt",
        "duplicate charge of {amt} on my statement",
    ],
    "funds_not_received": [
        "I sent {amt} to {who} on {date} and it has not arrived",
        "my withdrawal has been pending for {days} days",
        "the refund from {merchant} never reached my wallet",
        "money from my bank transfer is not showing in my balance",
        "my friend says the transfer left his account but I have nothing",
        "cash out to my card still not received after {days} days",
    ],
    "security": [
        "someone logged into my account and moved my money out",
        "there are payments on my account that I did not make",
        "my phone was stolen and the wallet app is on it",
        "a scammer got my verification code and emptied my balance",
        "I got a login alert from a device I do not own",
        "my account was hacked and {amt} was transferred to a stranger",
    ],
    "privacy": [
        "please delete my account and all the personal data you hold about me",
        "you shared my phone number with a marketing company without consent",
        "I want a copy of all the personal data you store about me",
        "your email to me contained another customer's statement",
        "I withdraw my consent to use my data for advertising",
        "a debt collector knew my transaction history, how did they get it",
        "stop tracking my location, I never allowed it",
        "under GDPR I request erasure of my information",
        "my ID photo ended up with a third party",
        "why does your app upload my contacts",
    ],
    "customer_service": [
        "nobody has answered my last four emails",
        "I have been on hold for over an hour twice this week",
        "your chat bot cannot understand anything and there is no human",
        "the agent was rude and hung up on me",
        "you promised a call back within 24 hours, it has been a week",
        "every agent tells me something different",
        "my ticket has been open for a month with no update",
        "is there a real person reading this mailbox at all",
        "I keep getting the same copy-paste reply",
        "your phone line is always busy",
    ],
    "other": [
        "how do I change my password? nothing is wrong, I just want a new one",
        "thank you so much for sorting out my issue last week",
        "can I get an invoice for my membership fee",
        "which currencies do you support",
        "how do I order a physical card",
        "a suggestion: please add a dark mode to the app",
        "how do I update my home address",
        "do you offer business accounts",
        "what are the limits for top ups",
        "how can I close my account, I am moving abroad",
    ],
}

DETAIL_A: dict[str, list[str]] = {
    "account_locked": ["I have already reset my password.", "I need the money for rent."],
    "transaction_failed": ["My balance is fine.", "I attached a screenshot of the error."],
    "wrong_charge": ["Please refund the difference.", "My receipt shows one payment only."],
    "funds_not_received": ["The app says completed.", "The recipient details are correct."],
    "security": ["Please block my account now.", "I never shared my password."],
    "privacy": ["I expect a written answer.", "I will complain to the regulator otherwise."],
    "customer_service": ["This is really disappointing.", "I just want someone to own this."],
    "other": ["No rush.", "Thanks in advance."],
}

SUBJECT_A: dict[str, list[str]] = {
    "account_locked": ["Account frozen", "Locked out", "Account restricted"],
    "transaction_failed": ["Payment failed", "Transfer declined", "Top up error"],
    "wrong_charge": ["Charged twice", "Wrong fee", "Overcharged"],
    "funds_not_received": ["Money not arrived", "Withdrawal pending", "Refund missing"],
    "security": ["Account hacked", "Unauthorised payments", "Stolen phone"],
    "privacy": ["Data deletion request", "Privacy complaint", "My personal data"],
    "customer_service": ["No reply", "Complaint about support", "Still waiting for an answer"],
    "other": ["Question", "Thank you", "Suggestion"],
}

CORE_B: dict[str, list[str]] = {
    "account_locked": [
        "everything is greyed out, the app says the account is on hold",
        "your risk team blocked my wallet and I can't get my money out",
        "I am unable to sign in since the update, it says account disabled",
    ],
    "transaction_failed": [
        "paying my electricity bill gives an error every time",
        "the shop terminal rejects my card, other cards work",
        "sending money to {who} keeps failing",
    ],
    "wrong_charge": [
        "two identical debits of {amt} for the same order",
        "you took a commission on a transfer that should be free",
        "the renewal was billed without notice",
    ],
    "funds_not_received": [
        "withdraw pending {days} days, still nothing in my bank",
        "{who} never got the {amt} I sent",
        "the merchant confirmed the refund, my balance is unchanged",
    ],
    "security": [
        "strangers spent money from my wallet overnight",
        "my email and password were changed by someone else",
        "there is a foreign purchase I know nothing about",
    ],
    "privacy": [
        "erase everything you know about me, I am closing my account",
        "you sold my details to a loan company",
        "I saw someone else's name and address in my profile",
        "I object to my data being used for profiling",
        "tell me who accessed my identity documents",
    ],
    "customer_service": [
        "hello?? is anyone there?? three weeks of silence",
        "your hotline drops the call after twenty minutes",
        "the live chat closes before anyone answers",
        "I asked for a manager and was ignored",
        "five agents, five different answers, zero solutions",
    ],
    "other": [
        "just wanted to say your team was great, thanks",
        "how can I switch the app language to Chinese",
        "is there a student plan",
        "where can I download my yearly statement",
        "can my daughter get a card on my account",
    ],
}

DETAIL_B: dict[str, list[str]] = {
    "account_locked": ["There is money in it I need."],
    "transaction_failed": ["The error screenshot is attached."],
    "wrong_charge": ["I want the extra amount back."],
    "funds_not_received": ["The reference number is in the attachment."],
    "security": ["Freeze it right away please."],
    "privacy": ["I expect confirmation in writing."],
    "customer_service": ["I am losing patience."],
    "other": ["Cheers."],
}

SUBJECT_B: dict[str, list[str]] = {
    "account_locked": ["Wallet on hold", "Cannot sign in"],
    "transaction_failed": ["Card rejected", "Bill payment error"],
    "wrong_charge": ["Double debit", "Unexpected commission"],
    "funds_not_received": ["Where is my money", "Transfer missing"],
    "security": ["Fraud on my wallet", "Someone changed my login"],
    "privacy": ["Erase my data", "Data sold?"],
    "customer_service": ["Anyone there?", "Terrible support"],
    "other": ["Quick question", "Thanks"],
}

COMMON_A: dict[str, list[str]] = {
    "greet": ["Hi,", "Hello,", "Dear support,", ""],
    "context": ["I have used your wallet for years.", "I use the app every day.", ""],
    "request": ["Please look into it.", "Please sort this out today.", "Let me know what to do."],
    "close": ["Thanks.", "Regards,", ""],
    "mood": ["Honestly,", "Seriously,", "Ugh,"],
}
COMMON_B: dict[str, list[str]] = {
    "greet": ["Good morning,", "To whom it may concern,", "Hey"],
    "context": ["Long story short.", "Some background first."],
    "request": ["Waiting for your answer.", "Fix it asap."],
    "close": ["Best,", "Cheers"],
    "mood": ["Come on,", "Unbelievable,"],
}
