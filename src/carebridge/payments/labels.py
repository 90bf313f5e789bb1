from carebridge.kit.i18n import N_

STATUS = {"pending": N_("Awaiting payment"), "paid": N_("Paid"), "partly_refunded": N_("Partly refunded"),
          "refunded": N_("Refunded"), "cancelled": N_("Cancelled")}
PURPOSE = {"visit": N_("Online follow-up visit"), "test": N_("Test appointment"), "fulfilment": N_("Medicine"),
           "nursing": N_("Home nursing")}
SCHEME = {"self_pay": N_("Self-pay"), "employee": N_("Employee medical insurance"),
          "resident": N_("Urban and rural resident medical insurance")}
RULE = {"community_discount": N_("Community and township centre discount")}
# Where the patient goes back to after paying: the page of the thing the charge is for.
PURPOSE_PAGE = {"visit": "/portal/visits/{id}", "test": "/portal/tests/{id}", "fulfilment": "/portal/deliveries/{id}",
                "nursing": "/portal/nursing/{id}"}
BACK_LABEL = {"visit": N_("Back to my visit"), "test": N_("Back to my test appointment"),
              "fulfilment": N_("Back to my medicine order"), "nursing": N_("Back to my home nursing order")}
