from carebridge.kit.i18n import N_

STATUS = {"pending": N_("Awaiting payment"), "paid": N_("Paid"), "partly_refunded": N_("Partly refunded"),
          "refunded": N_("Refunded"), "cancelled": N_("Cancelled")}
PURPOSE = {"visit": N_("Online follow-up visit"), "test": N_("Test appointment"), "fulfilment": N_("Medicine"),
           "nursing": N_("Home nursing")}
SCHEME = {"self_pay": N_("Self-pay"), "employee": N_("Employee medical insurance"),
          "resident": N_("Urban and rural resident medical insurance")}
RULE = {"community_discount": N_("Community and township centre discount")}
