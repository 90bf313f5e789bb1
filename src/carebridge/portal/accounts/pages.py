from carebridge.web.routing import router as make_router
router = make_router(include_in_schema=False)
