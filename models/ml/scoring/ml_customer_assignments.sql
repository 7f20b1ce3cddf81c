{#- One row per customer of fct_customer_features: the segment the kept model assigns.
    SQL, not Python (the one exception in models/ml): the kept model is data, so scoring is
    portable SQL that any warehouse runs without refitting (macros/kept_model_scoring.sql). -#}
{{ kept_model_scoring(
    features=ref('fct_customer_features'),
    params=ref('ml_feature_transform_params'),
    representatives=ref('ml_segment_representatives'),
    model=ref('ml_segment_model'),
) }}
